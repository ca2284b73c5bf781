/**
 * What a server offers in its EHLO reply (RFC 5321 §4.1.1.1), as the SMTP
 * client (client.ts) reads it: SIZE (RFC 1870), PIPELINING (RFC 2920),
 * 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), STARTTLS (RFC 3207) and AUTH (RFC 4954).
 */

/** What the server offered in its EHLO reply. */
export interface Capabilities {
  esmtp: boolean;
  /** SIZE offered; the limit when given (0 = none). */
  size?: number;
  pipelining: boolean;
  eightBitMime: boolean;
  /** SMTPUTF8 offered (RFC 6531): UTF-8 addresses may be sent; absent = false. */
  smtpUtf8?: boolean;
  startTls: boolean;
  /** AUTH mechanisms (upper case), from "AUTH x y" and the old "AUTH=x y". */
  auth: string[];
}

/** Nothing offered: before EHLO, and after a HELO fallback. */
export function noCapabilities(): Capabilities {
  return { esmtp: false, pipelining: false, eightBitMime: false, startTls: false, auth: [] };
}

/** Capabilities from a 250 EHLO reply (lines after the first; RFC 5321 §4.1.1.1). */
export function parseEhloCapabilities(lines: string[]): Capabilities {
  const caps: Capabilities = {
    esmtp: true,
    pipelining: false,
    eightBitMime: false,
    startTls: false,
    auth: [],
  };
  for (const line of lines.slice(1)) {
    const words = line.slice(4).trim().split(/[ \t=]+/).filter((word) => word !== "");
    const keyword = (words[0] ?? "").toUpperCase();
    if (keyword === "SIZE") {
      const limit = Number(words[1] ?? "0");
      caps.size = Number.isSafeInteger(limit) && limit > 0 ? limit : 0;
    } else if (keyword === "PIPELINING") caps.pipelining = true;
    else if (keyword === "8BITMIME") caps.eightBitMime = true;
    else if (keyword === "SMTPUTF8") caps.smtpUtf8 = true;
    else if (keyword === "STARTTLS") caps.startTls = true;
    else if (keyword === "AUTH") {
      for (const word of words.slice(1)) {
        const mechanism = word.toUpperCase();
        if (!caps.auth.includes(mechanism)) caps.auth.push(mechanism);
      }
    }
  }
  return caps;
}
