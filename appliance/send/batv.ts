/**
 * BATV "prvs" signing and checking (draft-levine-smtp-batv-01 §4.1, docs/patches.md seed 001
 * signkey/signkeystale/nosignhosts/nosignmydoms). Pure: the day number comes
 * from the caller (batvDay(nowMs)).
 *
 * A signed sender is `prvs=KDDDSSSSSS=local@domain`:
 *   K      key number, one digit (we always sign with 0);
 *   DDD    the expiry day: (days since 1970-01-01 + signkeystale) mod 1000, 3 digits;
 *   SSSSSS the first three bytes, lower-case hex, of HMAC-SHA1(signkey,
 *          "K" + "DDD" + "local@domain") — the hash source is the seven
 *          tag characters before the signature followed by the original address.
 * The construction follows the draft as implemented by AGWA/batv-tools
 * (prvs.cpp: make_prvs_hash, prvs_generate, prvs_validate): an address is
 * valid while 0 ≤ (DDD − today) mod 1000 ≤ staleDays.
 */
import { byteStringText } from "../bytes.ts";
import { createHmac, timingSafeEqual } from "node:crypto";

/** The BATV day number for a time in ms (days since the epoch). */
export function batvDay(nowMs: number): number {
  return Math.floor(nowMs / 86_400_000);
}

function tagHash(keyNumber: number, ddd: string, original: string, key: string): string {
  return createHmac("sha1", key).update(`${keyNumber}${ddd}${original}`).digest("hex").slice(0, 6);
}

/**
 * The signed form of sender, valid until day expiryDay (= batvDay(now) +
 * signkeystale). The local part is prefixed as is; senders without "@" and the
 * null sender are returned unchanged.
 */
export function signSender(sender: string, key: string, expiryDay: number, keyNumber = 0): string {
  const at = sender.lastIndexOf("@");
  if (at <= 0) return sender;
  const ddd = String(((expiryDay % 1000) + 1000) % 1000).padStart(3, "0");
  return `prvs=${keyNumber}${ddd}${tagHash(keyNumber, ddd, sender, key)}=${sender}`;
}

export interface BatvCheck {
  /** The address carries a prvs tag (local part "prvs=…=…", case-insensitive). */
  signed: boolean;
  /** signed, with our key, not expired. */
  ok: boolean;
  /** The address without the tag (the address itself when not signed). */
  original: string;
  /** Why ok is false: "unsigned", "malformed", "expired", "bad-signature". */
  reason?: "unsigned" | "malformed" | "expired" | "bad-signature";
}

const PRVS = /^prvs=([^=]*)=(.+)$/i;

/** Checks a bounce recipient: signed with key, expiry within staleDays of today (§4.1). */
export function checkBatvAddress(
  address: string,
  key: string,
  today: number,
  staleDays: number,
): BatvCheck {
  const at = address.lastIndexOf("@");
  const match = at > 0 ? PRVS.exec(address.slice(0, at)) : null;
  if (!match) return { signed: false, ok: false, original: address, reason: "unsigned" };
  const original = `${match[2]}${address.slice(at)}`;
  const tag = match[1];
  if (!/^\d{4}[0-9a-fA-F]{6}$/.test(tag) || tag[0] !== "0") {
    return { signed: true, ok: false, original, reason: "malformed" };
  }
  const ddd = tag.slice(1, 4);
  const ahead = (Number(ddd) - (today % 1000) + 1000) % 1000;
  if (ahead > staleDays) return { signed: true, ok: false, original, reason: "expired" };
  const want = new TextEncoder().encode(tagHash(0, ddd, original, key));
  const got = new TextEncoder().encode(tag.slice(4).toLowerCase());
  if (!timingSafeEqual(want, got)) {
    return { signed: true, ok: false, original, reason: "bad-signature" };
  }
  return { signed: true, ok: true, original };
}

export interface BatvControls {
  /** control/signkey; null = never sign. */
  signKey: string | null;
  /** control/nosignhosts: recipient domains (lower case) that get unsigned senders. */
  noSignHosts: string[];
  /** control/nosignmydoms: sender domains (lower case) never signed. */
  noSignMyDoms: string[];
}

/**
 * Whether the remote role signs this sender for this recipient domain (seed
 * 001): a signkey is set, the sender is a real address (not "", not the
 * double-bounce "#@[]", not already prvs-tagged), the recipient domain is not
 * in nosignhosts and the sender's domain is not in nosignmydoms.
 */
export function shouldSign(
  sender: string,
  recipientDomain: string,
  controls: BatvControls,
): boolean {
  if (controls.signKey === null || controls.signKey === "") return false;
  const at = sender.lastIndexOf("@");
  if (at <= 0 || sender === "#@[]") return false;
  if (/^prvs=/i.test(sender)) return false;
  // Addresses are byte strings, the lists UTF-8 text: a UTF-8 domain is compared as text.
  if (controls.noSignHosts.includes(byteStringText(recipientDomain).toLowerCase())) return false;
  return !controls.noSignMyDoms.includes(byteStringText(sender.slice(at + 1)).toLowerCase());
}
