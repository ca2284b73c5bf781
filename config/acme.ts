/**
 * control/acme: getting control/servercert.pem from an ACME CA (RFC 8555)
 * instead of by hand. Present = on; absent = off (the certificate stays the
 * operator's). One setting a line, a keyword and its value; blank lines and
 * `#` comments are skipped:
 *
 *     directory https://acme-v02.api.letsencrypt.org/directory
 *     contact mailto:postmaster@example.com
 *     name mail.example.com
 *     name smtp.example.com
 *     http 0.0.0.0:80
 *     ca /etc/ssl/private-ca.pem
 *     renew 30
 *
 * - directory: the CA's directory URL (https; http only to a loopback
 *   address, for tests). Default: Let's Encrypt's production directory.
 * - contact: the account's contact, a mailto: URL (RFC 8555 §7.3) or a bare
 *   address; may be repeated. Default: none (the CA then has no way to warn about expiry).
 * - name: a host name the certificate is for; may be repeated, the first is
 *   the subject's commonName. Default: control/me.
 * - http: where the HTTP-01 challenge (RFC 8555 §8.3) is answered, `ip:port`
 *   or `[ipv6]:port`. The CA always asks on port 80 of the name, so a
 *   listener elsewhere needs a redirect or proxy from port 80. Default
 *   0.0.0.0:80 (writing control/acme is the choice to be reachable there).
 * - ca: a PEM file of CAs to trust for the directory's HTTPS, for a private
 *   ACME CA; default: the system's.
 * - renew: days before expiry to renew (1 to 90); default 30.
 *
 * A line that does not parse is a ControlError naming the file and line.
 *
 * Leaf module: plain data in and out; the client is appliance/tls/acme_*.
 */
import { ControlError, readControlLine, readControlList } from "./control.ts";

/** Let's Encrypt's production directory (its staging one is acme-staging-v02.api...). */
export const ACME_DEFAULT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";
/** Where the HTTP-01 challenge is answered by default: port 80 (RFC 8555 §8.3), every address. */
export const ACME_DEFAULT_HTTP = { host: "0.0.0.0", port: 80 } as const;
/** Days before expiry that renewal starts, as Let's Encrypt advises for its 90-day certificates. */
export const ACME_DEFAULT_RENEW_DAYS = 30;

export interface AcmeControls {
  directory: string;
  /** mailto: URLs; empty: no contact. */
  contacts: string[];
  /** The certificate's names, the first one its commonName. */
  names: string[];
  http: { host: string; port: number };
  /** Absolute path of extra trust anchors for the directory's HTTPS. */
  caFile?: string;
  renewDays: number;
}

const KEYWORDS = new Set(["directory", "contact", "name", "http", "ca", "renew"]);
const SINGLE = new Set(["directory", "http", "ca", "renew"]);

/** control/acme, or undefined when it is absent (no ACME). Throws ControlError. */
export function loadAcmeControls(home: string): AcmeControls | undefined {
  const entries = readControlList(home, "acme");
  if (entries === undefined) return undefined;
  const me = readControlLine(home, "me")?.trim();
  return parseAcmeControls(`${home}/control/acme`, entries, me === "" ? undefined : me);
}

/** Parses control/acme's entries; `me` is control/me, the default name. */
export function parseAcmeControls(
  file: string,
  entries: readonly { value: string; line: number }[],
  me: string | undefined,
): AcmeControls {
  const controls: AcmeControls = {
    directory: ACME_DEFAULT_DIRECTORY,
    contacts: [],
    names: [],
    http: { ...ACME_DEFAULT_HTTP },
    renewDays: ACME_DEFAULT_RENEW_DAYS,
  };
  const seen = new Set<string>();
  for (const { value, line } of entries) {
    const match = /^(\S+)\s+(\S+)$/.exec(value.trim());
    const fail = (reason: string): never => {
      throw new ControlError(file, line, reason);
    };
    if (match === null) {
      fail(
        `expected "keyword value" (directory, contact, name, http, ca, renew), found ${
          JSON.stringify(value)
        }`,
      );
    }
    const [, keyword, argument] = match!;
    if (!KEYWORDS.has(keyword)) {
      fail(
        `unknown keyword ${JSON.stringify(keyword)}; expected directory, contact, name, ` +
          "http, ca or renew",
      );
    }
    if (SINGLE.has(keyword) && seen.has(keyword)) fail(`${keyword} given twice`);
    seen.add(keyword);
    switch (keyword) {
      case "directory":
        controls.directory = parseDirectory(argument) ??
          fail(`expected an https:// URL, found ${JSON.stringify(argument)}`);
        break;
      case "contact": {
        // RFC 8555 §7.3 wants a URL; a bare address is taken as its mailto: URL.
        const contact = argument.startsWith("mailto:") ? argument : `mailto:${argument}`;
        if (!/^mailto:[^@\s:]+@[^@\s]+\.[^@\s]+$/.test(contact)) {
          fail(`expected mailto:address or an address, found ${JSON.stringify(argument)}`);
        }
        controls.contacts.push(contact);
        break;
      }
      case "name": {
        const name = argument.toLowerCase().replace(/\.$/, "");
        if (!isHostName(name)) fail(`not a host name: ${JSON.stringify(argument)}`);
        if (!controls.names.includes(name)) controls.names.push(name);
        break;
      }
      case "http":
        controls.http = parseAddress(argument) ??
          fail(`expected ip:port or [ipv6]:port, found ${JSON.stringify(argument)}`);
        break;
      case "ca":
        if (!argument.startsWith("/")) fail(`expected an absolute path, found ${argument}`);
        controls.caFile = argument;
        break;
      case "renew": {
        const days = /^\d{1,3}$/.test(argument) ? Number(argument) : NaN;
        if (!(days >= 1 && days <= 90)) fail(`expected 1 to 90 days, found ${argument}`);
        controls.renewDays = days;
        break;
      }
    }
  }
  if (controls.names.length === 0) {
    if (me === undefined || !isHostName(me.toLowerCase())) {
      throw new ControlError(file, 0, "no name line, and control/me is no host name to default to");
    }
    controls.names.push(me.toLowerCase());
  }
  return controls;
}

/** An https URL, or http to a loopback address (a test CA); undefined otherwise. */
function parseDirectory(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol === "https:" || (url.protocol === "http:" && loopback)) return url.href;
  return undefined;
}

function parseAddress(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 1 && port <= 65535)) return undefined;
  return { host: match[1] ?? match[2], port };
}

/** A DNS name of letters, digits and hyphens, with at least one dot (RFC 1123 §2.1). */
function isHostName(name: string): boolean {
  return name.length <= 253 && name.includes(".") &&
    name.split(".").every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label));
}
