/**
 * The header block as qmail-inject reads it (notqmail headerbody.c,
 * hfield.c): where it ends, which lines start a field, which fields qmail
 * knows and what part each plays, and the fields with their continuation
 * lines joined. Strings hold one char per byte (0–255). Pure.
 */
import { bytesToString } from "../bytes.ts";

/** Field names hfield.c knows (lower case). */
const KNOWN_FIELDS = new Set([
  "sender",
  "from",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "date",
  "message-id",
  "subject",
  "resent-sender",
  "resent-from",
  "resent-reply-to",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "resent-date",
  "resent-message-id",
  "return-receipt-to",
  "errors-to",
  "apparently-to",
  "received",
  "return-path",
  "delivered-to",
  "content-length",
  "content-type",
  "content-transfer-encoding",
  "notice-requested-upon-delivery-to",
  "mail-followup-to",
]);

/** Fields whose addresses are recipients; if they do not parse they are kept as they are. */
export const RECIPIENT_FIELDS = new Set(["to", "cc", "bcc", "apparently-to"]);
export const RESENT_RECIPIENT_FIELDS = new Set(["resent-to", "resent-cc", "resent-bcc"]);
export const SENDER_FIELDS = new Set([
  "sender",
  "from",
  "reply-to",
  "return-receipt-to",
  "errors-to",
  "resent-sender",
  "resent-from",
  "resent-reply-to",
]);
export const DROPPED_FIELDS = new Set(["bcc", "resent-bcc", "return-path", "content-length"]);
export const RESENT_FIELDS = [
  "resent-sender",
  "resent-from",
  "resent-reply-to",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "resent-date",
  "resent-message-id",
];

/** The known field a header line starts, lower case (hfield_known), or undefined. */
export function knownField(field: string): string | undefined {
  const match = /^([!-9;-~]+)[ \t]*:/.exec(field);
  if (!match) return undefined;
  const name = match[1].toLowerCase();
  return KNOWN_FIELDS.has(name) ? name : undefined;
}

/** Whether a line starts a header field: a name of bytes 33–126, optional blanks, ':' (hfield_valid). */
export function isHeaderField(line: string): boolean {
  const colon = line.indexOf(":");
  if (colon < 0) return false;
  const name = line.slice(0, colon).replace(/[ \t]+$/, "");
  if (name === "") return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code <= 32 || code >= 127) return false;
  }
  return true;
}

/**
 * Where the header block of `bytes` ends (headerbody.c): the offset of the
 * empty line or of the first line that is not a header field, or
 * bytes.length when the input ends inside the header (eof). Undefined when
 * more input is needed to tell.
 */
export function findHeaderEnd(bytes: Uint8Array, eof: boolean): number | undefined {
  let offset = 0;
  let inField = false;
  while (offset < bytes.length) {
    const newline = bytes.indexOf(0x0a, offset);
    const first = bytes[offset];
    const continuation = inField && (first === 0x20 || first === 0x09);
    if (newline < 0 && !eof) {
      // An unfinished line can already be known not to start a field.
      const partial = bytesToString(bytes.subarray(offset));
      return !continuation && isNeverHeaderField(partial) ? offset : undefined;
    }
    const end = newline < 0 ? bytes.length : newline + 1;
    if (continuation) {
      offset = end;
      continue;
    }
    if (first === 0x0a) return offset;
    const line = bytesToString(bytes.subarray(offset, end));
    if (!line.startsWith("From ") && !isHeaderField(line)) return offset;
    inField = true;
    offset = end;
  }
  return eof ? offset : undefined;
}

/** Whether the start of a line rules out a header field whatever follows. */
function isNeverHeaderField(partial: string): boolean {
  if ("From ".startsWith(partial) || partial.startsWith("From ")) return false;
  if (partial.includes(":")) return !isHeaderField(partial);
  // A byte outside 33-126 followed by anything but blanks cannot be in a field name.
  return /[^!-~][ \t]*[^ \t]/.test(partial.replace(/^[!-~]*/, ""));
}

/**
 * The header block's fields, continuation lines joined, each ending in LF;
 * a "From " line becomes an `MBOX-Line:` field.
 */
export function splitFields(header: string): string[] {
  const lines = header.split(/(?<=\n)/);
  if (lines.length > 0 && !lines[lines.length - 1].endsWith("\n")) {
    lines[lines.length - 1] += "\n";
  }
  const fields: string[] = [];
  for (const line of lines) {
    if (line === "") continue;
    if (fields.length > 0 && (line[0] === " " || line[0] === "\t")) {
      fields[fields.length - 1] += line;
    } else {
      fields.push(line.startsWith("From ") ? `MBOX-Line: ${line}` : line);
    }
  }
  return fields;
}
