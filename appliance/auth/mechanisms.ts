/**
 * The six SASL mechanisms of docs/patches.md seed 000's README.auth and their bits in the
 * control/auth/{smtp,smtps,pop3,spop3} masks: LOGIN 1, PLAIN 2, CRAM-MD5 4,
 * CRAM-SHA1 8, CRAM-RIPEMD 16 (RIPEMD-160), DIGEST-MD5 32.
 */

export type MechanismName =
  | "LOGIN"
  | "PLAIN"
  | "CRAM-MD5"
  | "CRAM-SHA1"
  | "CRAM-RIPEMD"
  | "DIGEST-MD5";

/** The challenge-response mechanisms of RFC 2195's shape (an HMAC of the challenge). */
export type CramMechanism = "CRAM-MD5" | "CRAM-SHA1" | "CRAM-RIPEMD";

/**
 * docs/patches.md seed 000 README.auth's bit for each mechanism; also the order EHLO and CAPA list
 * them in.
 */
export const MECHANISM_BITS: Record<MechanismName, number> = {
  "LOGIN": 1,
  "PLAIN": 2,
  "CRAM-MD5": 4,
  "CRAM-SHA1": 8,
  "CRAM-RIPEMD": 16,
  "DIGEST-MD5": 32,
};

const ORDER = Object.keys(MECHANISM_BITS) as MechanismName[];

/** The mechanisms a control/auth mask allows, always in the order of MECHANISM_BITS. */
export function mechanismsFromMask(mask: number): MechanismName[] {
  return ORDER.filter((name) => (mask & MECHANISM_BITS[name]) !== 0);
}

/** The mechanism a client named (case-insensitive, RFC 4422 §3.1), or undefined. */
export function parseMechanismName(text: string): MechanismName | undefined {
  const upper = text.toUpperCase();
  return ORDER.find((name) => name === upper);
}

/** Whether a mechanism is one of the CRAM family. */
export function isCramMechanism(name: MechanismName): name is CramMechanism {
  return name === "CRAM-MD5" || name === "CRAM-SHA1" || name === "CRAM-RIPEMD";
}

/**
 * Which challenge mechanisms can succeed for some mailbox of this server:
 * the CRAM family needs a mailbox with a challenge secret or a checkpassword
 * program (which checks CRAM itself); DIGEST-MD5 needs a challenge secret
 * (checkpassword cannot check it). The auth role works it out at start and
 * on every reload.
 */
export interface ChallengeAuthSupport {
  cram: boolean;
  digest: boolean;
}

/**
 * The mechanisms of a control/auth mask worth advertising: those that can
 * succeed. Unknown support (undefined) keeps the mask as it is; PLAIN and
 * LOGIN are always kept.
 */
export function usableMechanisms(
  names: MechanismName[],
  support: ChallengeAuthSupport | undefined,
): MechanismName[] {
  if (support === undefined) return names;
  return names.filter((name) =>
    name === "DIGEST-MD5" ? support.digest : isCramMechanism(name) ? support.cram : true
  );
}
