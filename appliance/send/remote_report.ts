/**
 * qmail-remote's reports and qmail-rspawn's translation of them
 * (docs/queue-format.md §5.7, texts §5.8). Pure.
 *
 * A delivery attempt produces RemoteRecords: zero or more recipient records
 * (r accepted / h permanent / s temporary, in recipient order) then one
 * message record (K / Z / D). Texts are LF-terminated lines exactly as
 * qmail-remote prints them ("1.2.3.4 accepted message.\nRemote host said:
 * 250 ok\n"); the letter is not part of `text`.
 *
 * formatRemoteReport() is qmail-rspawn's report() for one recipient: the
 * status letter and text that go to the send role (qmail-send's bounce and
 * log text). encodeRemoteOutput/parseRemoteOutput are qmail-remote's wire form
 * (letter + text + NUL per record) for the extraremote wrapper (docs/patches.md seed 001).
 */
import { EXIT } from "../exit_codes.ts";
import { failureLetter } from "../mail_error.ts";

export type RemoteRecord = { kind: "r" | "h" | "s" | "K" | "Z" | "D"; text: string };

/** qmail's HUGESMTPTEXT: the most bytes of a server reply kept for "Remote host said". */
export const MAX_SMTP_TEXT = 5000;

const encoder = new TextEncoder();

/**
 * "Remote host said: " + the server's whole reply as qmail-remote's
 * outsmtptext() prints it: every line (CR removed) ending in LF, NUL → "?",
 * the reply text capped at 5000 bytes (UTF-8; a character is never split).
 * Empty input → "".
 */
export function formatRemoteHostSaid(replyLines: string[]): string {
  if (replyLines.length === 0) return "";
  const full = replyLines.map((line) => `${line.replaceAll("\r", "")}\n`).join("")
    .replaceAll("\0", "?");
  let text = full;
  if (encoder.encode(full).length > MAX_SMTP_TEXT) {
    let bytes = 0;
    let end = 0;
    for (const ch of full) {
      const size = encoder.encode(ch).length;
      if (bytes + size > MAX_SMTP_TEXT) break;
      bytes += size;
      end += ch.length;
    }
    text = full.slice(0, end);
  }
  return `Remote host said: ${text}`;
}

const VALUE: Record<string, number> = { K: 1, Z: 0, D: -1 };

function isMessageRecord(record: RemoteRecord | undefined): boolean {
  return record !== undefined &&
    (record.kind === "K" || record.kind === "Z" || record.kind === "D");
}

/**
 * qmail-rspawn's report() (§5.7): `msg` = the first K/Z/D record (none = D);
 * the status is msg's unless the first record is `s` (→ Z) or `h` (→ D). The
 * text is the first record's, followed by the second record's when the status
 * is not better than msg's and the second record is a message record. No
 * records at all → "Zqmail-remote produced no output.\n".
 */
export function formatRemoteReport(
  records: RemoteRecord[],
): { status: "K" | "Z" | "D"; text: string } {
  if (records.length === 0) return { status: "Z", text: "qmail-remote produced no output.\n" };
  const message = records.find(isMessageRecord);
  const messageValue = message ? VALUE[message.kind] : -1;
  let value = messageValue;
  const first = records[0];
  if (first.kind === "s") value = 0;
  if (first.kind === "h") value = -1;
  let text = first.text;
  if (value <= messageValue && isMessageRecord(records[1])) text += records[1].text;
  return { status: value > 0 ? "K" : value === 0 ? "Z" : "D", text };
}

/** qmail-remote's stdout: each record as letter + text + NUL. */
export function encodeRemoteOutput(records: RemoteRecord[]): string {
  return records.map((record) => `${record.kind}${record.text}\0`).join("");
}

/**
 * Records from qmail-remote's stdout (e.g. an extraremote wrapper's). Unknown
 * letters are kept out; a trailing piece without NUL is ignored, as rspawn does.
 */
export function parseRemoteOutput(output: string): RemoteRecord[] {
  const pieces = output.split("\0");
  pieces.pop();
  const records: RemoteRecord[] = [];
  for (const piece of pieces) {
    const kind = piece.slice(0, 1);
    if ("rhsKZD".includes(kind) && kind !== "") {
      records.push({ kind: kind as RemoteRecord["kind"], text: piece.slice(1) });
    }
  }
  return records;
}

/** qmail-rspawn's texts when qmail-remote (or the extraremote wrapper) misbehaves (§5.7). */
export function formatRemoteSpawnFailure(
  failure: { crashed: true } | { exitCode: number },
): { status: "Z" | "D"; text: string } {
  if ("crashed" in failure) return { status: "Z", text: "qmail-remote crashed.\n" };
  return {
    status: failureLetter(failure.exitCode === EXIT.temporary),
    text: "Unable to run qmail-remote.\n",
  };
}

/**
 * qmail-remote's message texts that do not come from an SMTP dialogue (§5.8
 * steps 3–6, 7 body). Each is the record text without the letter; the letter
 * is in `kind`.
 */
export const REMOTE_TEXTS = {
  cnameTemporary: { kind: "Z", text: "CNAME lookup failed temporarily. (#4.4.3)\n" },
  dnsTemporary: {
    kind: "Z",
    text: "Sorry, I couldn't find any host by that name. (#4.1.2)\n",
  },
  noMxOrIp: {
    kind: "D",
    text: "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)\n",
  },
  selfMx: {
    kind: "D",
    text: "Sorry. Although I'm listed as a best-preference MX or A for that host,\n" +
      "it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n",
  },
  noConnection: {
    kind: "Z",
    text: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n",
  },
  partialLine: {
    kind: "D",
    text: "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n",
  },
  unreadable: { kind: "Z", text: "Unable to read message. (#4.3.0)\n" },
  /** qmail-remote's temp_control(): helohost and me both missing or unreadable. */
  noControls: { kind: "Z", text: "Unable to read control files. (#4.3.0)\n" },
} as const satisfies Record<string, RemoteRecord>;

/** §5.8 step 4: DNS said the host does not exist. */
export function hostNotFoundRecord(host: string): RemoteRecord {
  return { kind: "D", text: `Sorry, I couldn't find any host named ${host}. (#5.1.2)\n` };
}
