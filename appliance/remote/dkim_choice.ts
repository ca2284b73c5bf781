/**
 * Which keys sign an outgoing message (pure). DMARC (RFC 7489 §3.1.1) passes
 * on DKIM only when the signature's d= is the From: header's domain, or (with
 * relaxed alignment, the default) shares its organizational domain, so:
 *
 * 1. the From: header's domain when control/dkim/ holds keys for it, else
 *    its nearest parent that does (From: a@lists.example.com signed
 *    d=example.com still aligns relaxed);
 * 2. a message without a From: header: the envelope sender's domain, the
 *    same way (there is no From: to align with; the signature still ties
 *    the message to us);
 * 3. anything else is sent unsigned: never a From: domain we hold no key
 *    for, nor a From: with several domains, nor several From: fields
 *    (RFC 5322 §3.6 allows one; DMARC cannot align those).
 *
 * Every key of the chosen domain signs (an RSA and an Ed25519 key: two
 * signatures, RFC 8463 §4's advice while verifiers catch up).
 */
import { domainToASCII } from "node:url";
import type { DkimKey } from "../../config/dkim.ts";

/** What the From: header says for signing. */
export type FromDomain =
  | { kind: "domain"; domain: string }
  | { kind: "none" }
  | { kind: "unusable"; reason: string };

/** Removes (comments), nested, and "quoted strings" (RFC 5322 §3.2.2, §3.2.4). */
function stripCommentsAndQuotes(value: string): string {
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "\\" && (quoted || depth > 0)) {
      i++;
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
      continue;
    }
    if (c === "(") depth++;
    else if (c === ")" && depth > 0) depth--;
    else if (depth === 0 && c === '"') quoted = true;
    else if (depth === 0) out += c;
  }
  return out;
}

/** The domain of each mailbox in a From: value (lower case, A-labels). */
export function mailboxDomains(value: string): string[] {
  const text = stripCommentsAndQuotes(value);
  const angle = [...text.matchAll(/<([^>]*)>/g)].map((match) => match[1]);
  const addresses = angle.length > 0
    ? angle
    : text.replace(/^[^:@]*:/, "").split(/[,;]/).map((part) => part.trim());
  const domains: string[] = [];
  for (const address of addresses) {
    const at = address.lastIndexOf("@");
    if (at < 0) continue;
    const domain = domainToASCII(address.slice(at + 1).trim().replace(/\.$/, "").toLowerCase());
    if (domain !== "") domains.push(domain);
  }
  return domains;
}

/**
 * The From: domain of a header block (lines up to the empty line; LF or
 * CRLF ends; folded lines are continued by white space).
 */
export function findFromDomain(header: string): FromDomain {
  const fields: string[] = [];
  for (const line of header.split("\n")) {
    const text = line.replace(/\r$/, "");
    if (text === "") break;
    if (/^[ \t]/.test(text) && fields.length > 0) fields[fields.length - 1] += text;
    else fields.push(text);
  }
  const from = fields.filter((field) => /^from[ \t]*:/i.test(field));
  if (from.length === 0) return { kind: "none" };
  if (from.length > 1) return { kind: "unusable", reason: "several From: fields" };
  const domains = [...new Set(mailboxDomains(from[0].slice(from[0].indexOf(":") + 1)))];
  if (domains.length === 0) return { kind: "unusable", reason: "no address in From:" };
  if (domains.length > 1) return { kind: "unusable", reason: "several domains in From:" };
  return { kind: "domain", domain: domains[0] };
}

/** The domain itself, then each parent that still has two labels. */
function domainAndParents(domain: string): string[] {
  const labels = domain.split(".");
  const names: string[] = [];
  for (let i = 0; i + 2 <= labels.length; i++) names.push(labels.slice(i).join("."));
  return names;
}

/** The keys of the nearest domain (itself, then its parents) that has any. */
function keysFor(domain: string, keys: readonly DkimKey[]): DkimKey[] {
  for (const name of domainAndParents(domain)) {
    const found = keys.filter((key) => key.domain === name);
    if (found.length > 0) return found;
  }
  return [];
}

/** The keys to sign with (none: send unsigned), per the rules at the top. */
export function chooseDkimKeys(
  from: FromDomain,
  envelopeSender: string,
  keys: readonly DkimKey[],
): DkimKey[] {
  if (keys.length === 0) return [];
  if (from.kind === "domain") return keysFor(from.domain, keys);
  if (from.kind === "unusable") return [];
  const at = envelopeSender.lastIndexOf("@");
  if (at < 0) return [];
  return keysFor(domainToASCII(envelopeSender.slice(at + 1).toLowerCase()), keys);
}
