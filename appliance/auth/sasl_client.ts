/**
 * The client side of the six mechanisms, pure: used by the tests against our
 * server and by the remote role for smart hosts (docs/patches.md seed 000 README.rauth). The
 * cnonce for DIGEST-MD5 comes from the caller.
 */
import { timingSafeEqual } from "node:crypto";
import { decodeBase64, decodeUtf8, encodeBase64 } from "./base64.ts";
import { cramDigest } from "./cram.ts";
import {
  computeDigestMd5,
  formatDigestMd5Response,
  parseDigestMd5Challenge,
} from "./digest_md5.ts";
import { byteString } from "../../config/byte_string.ts";
import { type CramMechanism, isCramMechanism, type MechanismName } from "./mechanisms.ts";
import { MailError } from "../mail_error.ts";

/** A server challenge the client cannot answer. Permanent: the server speaks the mechanism wrongly. */
export class SaslClientError extends MailError {
  constructor(message: string) {
    super(message, { temporary: false });
    this.name = "SaslClientError";
  }
}

/** RFC 4616 §2 message `authzid NUL user NUL password`, base64. */
export function plainInitialResponse(user: string, password: string, authzid = ""): string {
  return encodeBase64(`${authzid}\0${user}\0${password}`);
}

/** A LOGIN answer (the user name, then the password), base64. */
export function loginResponse(text: string): string {
  return encodeBase64(text);
}

function decodeChallenge(challengeBase64: string, mechanism: string): Uint8Array {
  const bytes = decodeBase64(challengeBase64);
  if (bytes === undefined) throw new SaslClientError(`Malformed ${mechanism} challenge`);
  return bytes;
}

/** RFC 2195 §2: `user SP hex(HMAC(password, challenge))`, base64. */
export function cramResponse(
  mechanism: CramMechanism,
  user: string,
  password: string,
  challengeBase64: string,
): string {
  const challenge = decodeUtf8(decodeChallenge(challengeBase64, mechanism));
  if (challenge === undefined) throw new SaslClientError(`Malformed ${mechanism} challenge`);
  return encodeBase64(`${user} ${cramDigest(mechanism, password, challenge)}`);
}

export interface DigestMd5ClientOptions {
  user: string;
  password: string;
  /** The server's first challenge, base64. */
  challengeBase64: string;
  /** digest-uri serv-type: "smtp", "pop", "imap" (RFC 2831 §2.1.2). */
  service: string;
  /** digest-uri host: the server's name. */
  host: string;
  /** A fresh random value (RFC 2831 §2.1.2 "cnonce"). */
  cnonce: string;
  authzid?: string;
}

/**
 * The answer to a DIGEST-MD5 challenge (RFC 2831 §2.1.2) with qop=auth, nc
 * 00000001 and the challenge's first realm (or none), base64; and the
 * rspauth the server must send back to prove it knows the password too.
 */
export function digestMd5ClientResponse(
  options: DigestMd5ClientOptions,
): { response: string; expectedRspauth: string } {
  const challenge = parseDigestMd5Challenge(decodeChallenge(options.challengeBase64, "DIGEST-MD5"));
  if (challenge === undefined) throw new SaslClientError("Malformed DIGEST-MD5 challenge");
  if (challenge.algorithm !== "md5-sess") {
    throw new SaslClientError(`DIGEST-MD5 algorithm ${challenge.algorithm} is not md5-sess`);
  }
  if (!challenge.qop.includes("auth")) {
    throw new SaslClientError("DIGEST-MD5 server does not offer qop=auth");
  }
  const fields = {
    username: options.user,
    realm: challenge.realms[0] ?? "",
    nonce: challenge.nonce,
    cnonce: options.cnonce,
    nc: "00000001",
    qop: "auth",
    digestUri: `${options.service}/${options.host}`,
    authzid: options.authzid,
  };
  const { response, rspauth } = computeDigestMd5({ ...fields, password: options.password });
  return {
    response: encodeBase64(formatDigestMd5Response({ ...fields, response })),
    expectedRspauth: rspauth,
  };
}

/** Whether the server's second DIGEST-MD5 challenge is `rspauth=EXPECTED` (RFC 2831 §2.1.3). */
export function checkDigestMd5Rspauth(challengeBase64: string, expectedRspauth: string): boolean {
  const bytes = decodeBase64(challengeBase64);
  if (bytes === undefined) return false;
  const text = byteString(bytes);
  const match = /^rspauth=([0-9a-fA-F]{32})$/.exec(text);
  if (!match) return false;
  const got = new TextEncoder().encode(match[1].toLowerCase());
  const want = new TextEncoder().encode(expectedRspauth.toLowerCase());
  return got.length === want.length && timingSafeEqual(got, want);
}

export interface SaslClientOptions {
  user: string;
  password: string;
  /** DIGEST-MD5 digest-uri serv-type, e.g. "smtp". */
  service?: string;
  /** DIGEST-MD5 digest-uri host: the server's name. */
  host?: string;
  /** DIGEST-MD5 cnonce (fresh random text). */
  cnonce?: string;
}

/**
 * One client-side exchange: `initialResponse()` for the AUTH command line,
 * then `respond(challenge)` for each server challenge (the text after "334 "
 * or "+ "), giving the line to send.
 */
export class SaslClient {
  readonly #mechanism: MechanismName;
  readonly #options: SaslClientOptions;
  #step = 0;
  #expectedRspauth: string | undefined;

  constructor(mechanism: MechanismName, options: SaslClientOptions) {
    this.#mechanism = mechanism;
    this.#options = options;
  }

  /** The initial response to send with the AUTH command (PLAIN only), else undefined. */
  initialResponse(): string | undefined {
    if (this.#mechanism !== "PLAIN" || this.#step !== 0) return undefined;
    this.#step = 1;
    return plainInitialResponse(this.#options.user, this.#options.password);
  }

  /** The answer to one server challenge (base64 text). Throws SaslClientError on a bad one. */
  respond(challengeBase64: string): string {
    const mechanism = this.#mechanism;
    const step = this.#step++;
    const { user, password } = this.#options;
    if (mechanism === "PLAIN") {
      if (step !== 0) throw new SaslClientError("PLAIN server sent an extra challenge");
      return plainInitialResponse(user, password);
    }
    if (mechanism === "LOGIN") {
      // The prompts' text is not checked: servers word them differently.
      if (step === 0) return loginResponse(user);
      if (step === 1) return loginResponse(password);
      throw new SaslClientError("LOGIN server sent an extra challenge");
    }
    if (isCramMechanism(mechanism)) {
      if (step !== 0) throw new SaslClientError(`${mechanism} server sent an extra challenge`);
      return cramResponse(mechanism, user, password, challengeBase64);
    }
    if (step === 0) {
      const { service, host, cnonce } = this.#options;
      if (service === undefined || host === undefined || cnonce === undefined) {
        throw new SaslClientError("DIGEST-MD5 needs service, host and cnonce");
      }
      const answer = digestMd5ClientResponse({
        user,
        password,
        challengeBase64,
        service,
        host,
        cnonce,
      });
      this.#expectedRspauth = answer.expectedRspauth;
      return answer.response;
    }
    if (step === 1 && this.#expectedRspauth !== undefined) {
      if (!checkDigestMd5Rspauth(challengeBase64, this.#expectedRspauth)) {
        throw new SaslClientError("DIGEST-MD5 server sent a wrong rspauth");
      }
      return "";
    }
    throw new SaslClientError("DIGEST-MD5 server sent an extra challenge");
  }
}
