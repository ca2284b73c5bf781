/**
 * DIGEST-MD5 (RFC 2831) as far as SMTP and POP3 AUTH need it: qop=auth only
 * (no integrity or confidentiality layer), algorithm=md5-sess, charset=utf-8,
 * one realm (the host name) and a nonce used once (nc=00000001). Pure: the
 * nonce and cnonce come from the caller.
 */
import type { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { decodeUtf8 } from "./base64.ts";
import { byteString, byteStringBytes as bytesOfByteString } from "../../config/byte_string.ts";

/** The fields of a client's digest-response (RFC 2831 §2.1.2) that the server uses. */
export interface DigestMd5Response {
  username: string;
  /** "" when the client sent no realm directive (§2.1.2 "realm"). */
  realm: string;
  nonce: string;
  cnonce: string;
  /** 8 hex digits; "00000001" for a first authentication. */
  nc: string;
  /** "auth" (the default when absent). */
  qop: string;
  /** serv-type "/" host [ "/" serv-name ], e.g. "smtp/mail.example.com". */
  digestUri: string;
  /** 32 lower-case hex digits. */
  response: string;
  /** Present only when the client sent one. */
  authzid?: string;
  /** Whether charset=utf-8 was given. */
  utf8: boolean;
}

/** The fields of a server's digest-challenge (RFC 2831 §2.1.1) a client needs. */
export interface DigestMd5Challenge {
  realms: string[];
  nonce: string;
  qop: string[];
  utf8: boolean;
  algorithm: string;
}

/** Longest directive list either side parses (RFC 2831 §2.1.1 limits the challenge to 2048). */
const MAX_DIRECTIVES_TEXT = 12 * 1024;

/** A quoted-string (RFC 2831 §7.2, RFC 2616 §2.2): `"` and `\` escaped. */
export function quoteDigestString(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Splits `name=value, name="quoted value", ...` (RFC 2831 §7.1's #rule: empty
 * elements and linear white space allowed). Names are lower-cased. Undefined
 * on a syntax error.
 */
export function parseDigestDirectives(text: string): [string, string][] | undefined {
  if (text.length > MAX_DIRECTIVES_TEXT) return undefined;
  const directives: [string, string][] = [];
  const space = /[ \t\r\n]/;
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && space.test(text[at])) at++;
  };
  while (true) {
    skipSpace();
    while (at < text.length && text[at] === ",") {
      at++;
      skipSpace();
    }
    if (at >= text.length) return directives;
    const name = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(text.slice(at))?.[0];
    if (name === undefined) return undefined;
    at += name.length;
    skipSpace();
    if (text[at] !== "=") return undefined;
    at++;
    skipSpace();
    let value = "";
    if (text[at] === '"') {
      at++;
      while (true) {
        if (at >= text.length) return undefined;
        const char = text[at++];
        if (char === '"') break;
        if (char === "\\") {
          if (at >= text.length) return undefined;
          value += text[at++];
        } else {
          value += char;
        }
      }
    } else {
      const token = /^[^\s",]+/.exec(text.slice(at))?.[0];
      if (token === undefined) return undefined;
      value = token;
      at += token.length;
    }
    directives.push([name.toLowerCase(), value]);
    skipSpace();
    if (at < text.length && text[at] !== ",") return undefined;
  }
}

/**
 * The server's first challenge, in the order of RFC 2831 §4's example:
 * `realm="HOST",nonce="NONCE",qop="auth",algorithm=md5-sess,charset=utf-8`.
 */
export function formatDigestMd5Challenge(options: { realm: string; nonce: string }): string {
  return `realm=${quoteDigestString(options.realm)},nonce=${quoteDigestString(options.nonce)},` +
    `qop="auth",algorithm=md5-sess,charset=utf-8`;
}

/** Directive names whose repetition makes a digest-response invalid (RFC 2831 §2.1.2). */
const SINGLE = new Set([
  "username",
  "realm",
  "nonce",
  "cnonce",
  "nc",
  "qop",
  "digest-uri",
  "response",
  "maxbuf",
  "charset",
  "cipher",
  "authzid",
]);

/**
 * Parses a client's digest-response from its decoded bytes. Undefined when the
 * syntax is bad, a directive is repeated, a required one is missing, charset
 * is not utf-8, a utf-8 value is not valid UTF-8, or `response` is not 32 hex
 * digits. Unknown directives are ignored (§2.1.2). Values are checked against
 * the challenge by the caller.
 */
export function parseDigestMd5Response(bytes: Uint8Array): DigestMd5Response | undefined {
  const directives = parseDigestDirectives(byteString(bytes));
  if (directives === undefined) return undefined;
  const values = new Map<string, string>();
  for (const [name, value] of directives) {
    if (!SINGLE.has(name)) continue;
    if (values.has(name)) return undefined;
    values.set(name, value);
  }
  const charset = values.get("charset");
  if (charset !== undefined && charset.toLowerCase() !== "utf-8") return undefined;
  const utf8 = charset !== undefined;
  const text = (name: string): string | undefined => {
    const raw = values.get(name);
    if (raw === undefined || !utf8) return raw;
    return decodeUtf8(bytesOfByteString(raw));
  };
  const username = text("username");
  const realm = values.has("realm") ? text("realm") : "";
  const authzid = values.has("authzid") ? text("authzid") : undefined;
  const nonce = values.get("nonce");
  const cnonce = values.get("cnonce");
  const nc = values.get("nc");
  const digestUri = text("digest-uri");
  const response = values.get("response")?.toLowerCase();
  if (
    username === undefined || username === "" || realm === undefined ||
    nonce === undefined || cnonce === undefined || cnonce === "" || nc === undefined ||
    digestUri === undefined || response === undefined ||
    (values.has("authzid") && authzid === undefined)
  ) {
    return undefined;
  }
  if (!/^[0-9a-f]{32}$/.test(response) || !/^[0-9a-fA-F]{8}$/.test(nc)) return undefined;
  // The cnonce enters the hashes as the client's bytes; printable ASCII keeps
  // that unambiguous whatever the charset.
  if (!/^[\x21-\x7e]+$/.test(cnonce)) return undefined;
  const parsed: DigestMd5Response = {
    username,
    realm,
    nonce,
    cnonce,
    nc,
    qop: values.get("qop") ?? "auth",
    digestUri,
    response,
    utf8,
  };
  if (authzid !== undefined) parsed.authzid = authzid;
  return parsed;
}

/** A server challenge's fields, for the client side; undefined when unusable. */
export function parseDigestMd5Challenge(bytes: Uint8Array): DigestMd5Challenge | undefined {
  const directives = parseDigestDirectives(byteString(bytes));
  if (directives === undefined) return undefined;
  const realms: string[] = [];
  let nonce: string | undefined;
  let qop: string[] = ["auth"];
  let utf8 = false;
  let algorithm: string | undefined;
  for (const [name, value] of directives) {
    if (name === "realm") realms.push(value);
    else if (name === "nonce") {
      if (nonce !== undefined) return undefined;
      nonce = value;
    } else if (name === "qop") qop = value.split(",").map((item) => item.trim().toLowerCase());
    else if (name === "charset") utf8 = value.toLowerCase() === "utf-8";
    else if (name === "algorithm") algorithm = value.toLowerCase();
  }
  if (nonce === undefined || algorithm === undefined) return undefined;
  const decode = (value: string) => utf8 ? decodeUtf8(bytesOfByteString(value)) : value;
  const decodedRealms = realms.map(decode);
  if (decodedRealms.some((realm) => realm === undefined)) return undefined;
  return { realms: decodedRealms as string[], nonce, qop, utf8, algorithm };
}

/**
 * username, realm and password enter A1 in ISO 8859-1 when every character
 * fits, else in UTF-8 (RFC 2831 §2.1.2.1, "username-value, realm-value and
 * passwd are encoded according to the value of the charset directive").
 */
function digestBytes(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) return new TextEncoder().encode(text);
  }
  return bytesOfByteString(text);
}

function md5(...parts: (Uint8Array | string)[]): Buffer {
  const hash = createHash("md5");
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** The inputs of RFC 2831 §2.1.2.1's response-value. */
export interface DigestMd5Inputs {
  username: string;
  realm: string;
  password: string;
  nonce: string;
  cnonce: string;
  nc: string;
  qop: string;
  digestUri: string;
  authzid?: string;
}

/**
 * The client's `response` and the server's `rspauth` (RFC 2831 §2.1.2.1 and
 * §2.1.3), both 32 lower-case hex digits:
 * A1 = H(username:realm:passwd):nonce:cnonce[:authzid], A2 = "AUTHENTICATE:"
 * digest-uri (":" digest-uri for rspauth), value = HEX(H(HEX(H(A1)):nonce:nc:
 * cnonce:qop:HEX(H(A2)))).
 */
export function computeDigestMd5(inputs: DigestMd5Inputs): { response: string; rspauth: string } {
  const secret = md5(
    digestBytes(inputs.username),
    ":",
    digestBytes(inputs.realm),
    ":",
    digestBytes(inputs.password),
  );
  const a1 = inputs.authzid === undefined
    ? md5(secret, `:${inputs.nonce}:${inputs.cnonce}`)
    : md5(secret, `:${inputs.nonce}:${inputs.cnonce}:${inputs.authzid}`);
  const ha1 = a1.toString("hex");
  const value = (a2: string) =>
    md5(
      `${ha1}:${inputs.nonce}:${inputs.nc}:${inputs.cnonce}:${inputs.qop}:`,
      md5(a2).toString("hex"),
    ).toString("hex");
  return {
    response: value(`AUTHENTICATE:${inputs.digestUri}`),
    rspauth: value(`:${inputs.digestUri}`),
  };
}

/**
 * A digest-response in the order of RFC 2831 §4's example:
 * charset, username, realm, nonce, nc, cnonce, digest-uri, response, qop
 * (and authzid last when given).
 */
export function formatDigestMd5Response(fields: Omit<DigestMd5Response, "utf8">): string {
  let text = `charset=utf-8,username=${quoteDigestString(fields.username)},` +
    `realm=${quoteDigestString(fields.realm)},nonce=${quoteDigestString(fields.nonce)},` +
    `nc=${fields.nc},cnonce=${quoteDigestString(fields.cnonce)},` +
    `digest-uri=${quoteDigestString(fields.digestUri)},response=${fields.response},` +
    `qop=${fields.qop}`;
  if (fields.authzid !== undefined) text += `,authzid=${quoteDigestString(fields.authzid)}`;
  return text;
}
