/**
 * A fresh CRAM challenge and DIGEST-MD5 nonce (and POP3's APOP banner):
 * `<random.unixtime@host>` in qmail-popup's `<pid.time@host>` shape, with a
 * random number where qmail has its pid so challenges never repeat.
 */
import { randomBytes } from "node:crypto";

export function newSaslChallenge(hostname: string): { challenge: string; nonce: string } {
  const digits = randomBytes(6).readUIntBE(0, 6);
  return {
    challenge: `<${digits}.${Math.floor(Date.now() / 1000)}@${hostname}>`,
    nonce: randomBytes(18).toString("base64"),
  };
}
