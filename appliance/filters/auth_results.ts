/**
 * Incoming authentication results (RFC 8601), the pure part: where the
 * client's header section ends in the LF-form message, its fields, our one
 * Authentication-Results header from the methods' entries, and what a DMARC
 * result means for the message (control/dmarcreject). The verification itself
 * is npm mailauth's, run by appliance/scan/auth_results_scan.ts.
 */
import type { RuleRef, Verdict } from "./filter.ts";
import { refuse } from "./filter.ts";

/**
 * The longest header section verified, in bytes. mailauth keeps the header
 * section in memory while it looks for the blank line, and the spool reads it
 * back to remove forged fields (net/message_spool.ts), so a bigger one is
 * refused rather than held: 1 MiB is ten times Postfix's header_size_limit.
 */
export const MAX_HEADER_BYTES = 1024 * 1024;

export const REPLY_HEADER_TOO_BIG = "552 5.3.4 sorry, that message's header section is too large";

/**
 * Finds the end of the header section in a message streamed in LF form (the
 * DATA byte machine's output): the byte after the first empty line, RFC 5322
 * §2.1. Until then `end` is undefined and `seen` counts the header bytes.
 */
export class HeaderEnd {
  /** Bytes seen so far. */
  seen = 0;
  /** Offset just past the empty line that ends the header section, once seen. */
  end: number | undefined;
  #lineStart = true;

  /** Looks at the next chunk; returns how many of its bytes belong to the header section. */
  push(chunk: Uint8Array): number {
    if (this.end !== undefined) {
      this.seen += chunk.length;
      return 0;
    }
    let i = 0;
    while (i < chunk.length) {
      if (chunk[i] === 0x0a) {
        if (this.#lineStart) {
          this.end = this.seen + i + 1;
          this.seen += chunk.length;
          return i + 1;
        }
        this.#lineStart = true;
        i++;
        continue;
      }
      this.#lineStart = false;
      const next = chunk.indexOf(0x0a, i);
      if (next < 0) break;
      i = next;
    }
    this.seen += chunk.length;
    return chunk.length;
  }
}

/**
 * A header section's fields (RFC 5322 §2.2.3: a line starting with space or
 * tab continues the field above it), each with its line ends, bytes unchanged.
 * The empty line that ends the section, if present, is the last "field".
 */
export function splitHeaderFields(section: Uint8Array): Uint8Array[] {
  const fields: Uint8Array[] = [];
  let start = 0;
  let at = 0;
  while (at < section.length) {
    const lineEnd = section.indexOf(0x0a, at);
    const next = lineEnd < 0 ? section.length : lineEnd + 1;
    const following = section[next];
    const continues = following === 0x20 || following === 0x09;
    const blank = lineEnd === at;
    if (blank || !continues || next >= section.length) {
      fields.push(section.subarray(start, next));
      start = next;
    }
    at = next;
  }
  return fields;
}

/** Whether a field (one char per byte) is an Authentication-Results field. */
export function isAuthResultsField(field: string): boolean {
  return /^authentication-results[ \t]*:/i.test(field);
}

/**
 * Our header: the authserv-id, then one method entry a line (RFC 8601 §2.2:
 * `authserv-id; method=result ...; ...`), folded with LF and a space.
 */
export function formatAuthResults(authServId: string, entries: readonly string[]): string {
  // The entries quote the message (header.from, header.i): no line break may get through.
  // deno-lint-ignore no-control-regex
  const safe = entries.map((entry) => entry.replace(/[\x00-\x1f\x7f]+/g, " "));
  const body = safe.length === 0 ? "none" : safe.join(";\n ");
  return `Authentication-Results: ${authServId};\n ${body}`;
}

/** What the DMARC evaluation said, as far as the policy decision needs it. */
export interface DmarcOutcome {
  /** pass, fail, none, temperror, permerror. */
  result: string;
  /** The From domain's organizational domain. */
  domain?: string;
  /** The policy in force for the From domain (p, or sp for a subdomain). */
  policy?: string;
  /** pct=, when the record gives one. */
  pct?: number;
}

export const DMARC_RULE_SOURCE = "control/dmarcreject";

/**
 * The 550 of a DMARC failure whose domain asks for rejection (RFC 7489
 * §6.7), in qmail-md's form: code, enhanced code, text.
 */
export function dmarcRejectReply(domain: string): string {
  const safe = domain.replace(/[^\x21-\x7e]/g, "?");
  return `550 5.7.1 message refused: it fails the DMARC policy of ${safe}`;
}

/**
 * What a DMARC result does to the message: with dmarcreject set, a `fail`
 * under p=reject applied to every message (no pct, or pct=100) is refused;
 * everything else, p=quarantine included, is only marked in the header
 * (the caller's pass). A pct below 100 is a mark too: sampling would make a
 * refusal a matter of chance.
 */
export function dmarcVerdict(
  dmarc: DmarcOutcome | undefined,
  reject: boolean,
  summary: string,
): Verdict {
  const pass: Verdict = { kind: "pass", log: summary };
  if (!reject || dmarc === undefined || dmarc.result !== "fail") return pass;
  if (dmarc.policy !== "reject" || (dmarc.pct !== undefined && dmarc.pct < 100)) return pass;
  const domain = dmarc.domain ?? "";
  const rule: RuleRef = { check: "dmarc", source: DMARC_RULE_SOURCE, entry: `${domain} p=reject` };
  return refuse(dmarcRejectReply(domain), rule);
}

/** The log and trace line: each method's result, `dkim=pass spf=none dmarc=fail`. */
export function summarizeEntries(entries: readonly string[]): string {
  return entries.map((entry) => /^[a-z-]+=[a-z]+/i.exec(entry)?.[0] ?? entry).join(" ");
}

/** What mailauth's DMARC evaluation says of alignment: the aligned domain, if any, per mode. */
export interface DmarcAlignment {
  dkim: { result?: string; strict: boolean };
  spf: { result?: string; strict: boolean };
}

/**
 * Whether the message is aligned as the domain's record asks (RFC 7489
 * §3.1.1): in strict mode the DKIM d= or the SPF domain must be the From
 * domain itself. mailauth 4.13.3 (lib/tools.js getAlignment) tries the exact
 * match and then falls back to organizational domains whatever the mode, so
 * a strict record passes on relaxed alignment; the scan asks this again and
 * turns such a pass into the fail it is.
 */
export function alignedAsAsked(
  alignment: DmarcAlignment,
  fromDomain: string,
  dkimDomains: readonly string[],
  spfDomain: string | undefined,
): boolean {
  const from = fromDomain.toLowerCase();
  const dkim = alignment.dkim.strict
    ? dkimDomains.some((domain) => domain.toLowerCase() === from)
    : alignment.dkim.result !== undefined;
  const spf = alignment.spf.strict
    ? spfDomain?.toLowerCase() === from
    : alignment.spf.result !== undefined;
  return dkim || spf;
}

/**
 * The most DKIM-Signature and ARC-Message-Signature fields verified in one
 * message. RFC 6376 §6.1 lets a verifier limit them; each costs a body hash
 * and a DNS query, and RFC 8617 §4.2.1 caps an ARC chain at 50 sets.
 */
export const MAX_SIGNATURE_FIELDS = 50;

const SIGNATURE_FIELD = /\n(?:dkim-signature|arc-message-signature)/gi;
/** One less than the longest match, so a match split between chunks is found whole. */
const SIGNATURE_TAIL = "\narc-message-signature".length - 1;

/**
 * Counts the signature fields of a header section as it streams (LF form):
 * each match is counted in the chunk where it ends, the previous chunk's
 * last bytes kept to see one that began there.
 */
export class SignatureFields {
  count = 0;
  #tail = "\n";

  /** The next header bytes. */
  push(header: Uint8Array): void {
    let text = this.#tail;
    const from = text.length;
    for (let i = 0; i < header.length; i += 8192) {
      text += String.fromCharCode(...header.subarray(i, i + 8192));
    }
    for (const match of text.matchAll(SIGNATURE_FIELD)) {
      if (match.index + match[0].length > from) this.count++;
    }
    this.#tail = text.slice(-SIGNATURE_TAIL);
  }
}
