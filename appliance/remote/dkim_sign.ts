/**
 * DKIM signing of outgoing mail (RFC 6376, RFC 8463 for Ed25519) in the
 * remote role, with npm mailauth's signer: qmd does no canonicalisation or
 * signing of its own. The keys are config/dkim.ts's, chosen by
 * dkim_choice.ts (the From: domain, for DMARC alignment).
 *
 * The mess/ file is read twice and never held whole in memory:
 *
 * 1. the header block (up to MAX_HEADER_BYTES; a longer one is sent unsigned)
 *    to find the From: domain;
 * 2. the whole message in DATA_CHUNK pieces through DataEncoder without
 *    dot-stuffing (the bytes the receiver reads back: LF and lone CR become
 *    CRLF, as the SMTP attempt will send them) into mailauth's dkimSign as a
 *    stream; it hashes the body as it goes (relaxed/relaxed, sha256) and
 *    keeps only the header block.
 *
 * The DKIM-Signature fields come back with LF line ends, as the queue keeps
 * messages; SignedMessage puts them in front of the file for the attempts,
 * so the SMTP attempt's encoder turns them into CRLF and QMTP sends them
 * as they are. mailauth is imported on first use, as in
 * appliance/net/spf_lookup.ts.
 */
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import type { DkimKey } from "../../config/dkim.ts";
import { DATA_CHUNK, DataEncoder } from "./body_encoder.ts";
import { chooseDkimKeys, findFromDomain } from "./dkim_choice.ts";

/** A header block longer than this (no empty line before it) is not signed. */
export const MAX_HEADER_BYTES = 256 * 1024;

/** The part of mailauth's lib/dkim/sign used here. */
interface MailauthSign {
  dkimSign(input: Readable, options: {
    canonicalization: string;
    signTime?: Date;
    signatureData: {
      signingDomain: string;
      selector: string;
      privateKey: string;
      algorithm: string;
      canonicalization: string;
    }[];
  }): Promise<{ signatures: string; errors: { err?: Error; signingDomain?: string }[] }>;
}

let loading: Promise<MailauthSign> | undefined;

function loadMailauth(): Promise<MailauthSign> {
  loading ??= import("mailauth/lib/dkim/sign.js").then((module) =>
    module as unknown as MailauthSign
  );
  return loading;
}

/** The part of an open file the signer and the attempts read. */
export type MessageFile = Pick<Deno.FsFile, "read" | "seek">;

/** The outcome: fields to put in front, nothing to sign, or a failure (the delivery defers). */
export type DkimOutcome =
  | { kind: "signed"; header: Uint8Array; domain: string; selectors: string[] }
  | { kind: "unsigned"; reason: string }
  | { kind: "failed"; reason: string };

/** The header block of the file (read from its start), or undefined when longer than the limit. */
async function readHeaderBlock(file: MessageFile): Promise<string | undefined> {
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(DATA_CHUNK);
  const parts: Uint8Array[] = [];
  let length = 0;
  while (length < MAX_HEADER_BYTES) {
    const count = await file.read(buffer);
    if (count === null) break;
    parts.push(buffer.slice(0, count));
    length += count;
    const text = new TextDecoder("latin1").decode(Buffer.concat(parts));
    const end = /^\r?\n|\n\r?\n/.exec(text);
    if (end !== null) return text.slice(0, end.index + end[0].length);
  }
  return length < MAX_HEADER_BYTES
    ? new TextDecoder("latin1").decode(Buffer.concat(parts))
    : undefined;
}

/** The message as the receiver reads it back, one bounded chunk at a time. */
async function* receivedBytes(file: MessageFile): AsyncGenerator<Buffer> {
  await file.seek(0, Deno.SeekMode.Start);
  const encoder = new DataEncoder({ dotStuffing: false });
  const buffer = new Uint8Array(DATA_CHUNK);
  for (;;) {
    const count = await file.read(buffer);
    if (count === null) return;
    const out = encoder.push(buffer.subarray(0, count));
    // push() gives a new array each time (buffer is reused, its output is not): no copy needed.
    if (out.length > 0) yield Buffer.from(out.buffer, out.byteOffset, out.length);
  }
}

/**
 * The DKIM-Signature fields for the message in `file` from `sender`, signed
 * with the keys dkim_choice.ts picks from `keys`. Reads the file from its
 * start twice; leaves its position anywhere.
 */
export async function signMessage(
  file: MessageFile,
  sender: string,
  keys: readonly DkimKey[],
  now: Date,
): Promise<DkimOutcome> {
  if (keys.length === 0) return { kind: "unsigned", reason: "no keys" };
  let header: string | undefined;
  try {
    header = await readHeaderBlock(file);
  } catch (error) {
    return { kind: "failed", reason: `cannot read the message (${(error as Error).message})` };
  }
  if (header === undefined) return { kind: "unsigned", reason: "header block too long" };
  const from = findFromDomain(header);
  const chosen = chooseDkimKeys(from, sender, keys);
  if (chosen.length === 0) {
    return {
      kind: "unsigned",
      reason: from.kind === "unusable"
        ? from.reason
        : `no key for ${from.kind === "domain" ? from.domain : `<${sender}>`}`,
    };
  }
  try {
    const { dkimSign } = await loadMailauth();
    const result = await dkimSign(Readable.from(receivedBytes(file), { objectMode: false }), {
      canonicalization: "relaxed/relaxed",
      signTime: now,
      signatureData: chosen.map((key) => ({
        signingDomain: key.domain,
        selector: key.selector,
        privateKey: key.privateKey,
        algorithm: `${key.algorithm}-sha256`,
        canonicalization: "relaxed/relaxed",
      })),
    });
    if (result.errors.length > 0) {
      const first = result.errors[0];
      return {
        kind: "failed",
        reason: `${first.signingDomain ?? chosen[0].domain}: ${first.err?.message ?? "error"}`,
      };
    }
    const fields = result.signatures.replace(/\r\n/g, "\n");
    return {
      kind: "signed",
      header: new TextEncoder().encode(fields),
      domain: chosen[0].domain,
      selectors: chosen.map((key) => key.selector),
    };
  } catch (error) {
    return { kind: "failed", reason: (error as Error).message };
  }
}

/** How many messages' outcomes are kept per key set (signOnce). */
export const RECENT_MESSAGES = 128;

/**
 * The outcomes of recent messages, per key set (a reload makes a new one):
 * qmail-send hands the remote role one job per recipient, so a message to
 * many remote recipients would otherwise be read twice and signed once per
 * recipient. Concurrent jobs of one message share one signing.
 */
const recent = new WeakMap<readonly DkimKey[], Map<string, Promise<DkimOutcome>>>();

function signOnce(
  identity: string,
  file: MessageFile,
  sender: string,
  keys: readonly DkimKey[],
  now: Date,
): Promise<DkimOutcome> {
  let outcomes = recent.get(keys);
  if (outcomes === undefined) recent.set(keys, outcomes = new Map());
  // The sender picks the key of a message without From: (and VERP makes it differ per recipient).
  const key = `${identity}\0${sender}`;
  const known = outcomes.get(key);
  if (known !== undefined) return known;
  const signing = signMessage(file, sender, keys, now);
  outcomes.set(key, signing);
  if (outcomes.size > RECENT_MESSAGES) outcomes.delete(outcomes.keys().next().value!);
  // A failure is tried again by the next job.
  signing.then((outcome) => outcome.kind === "failed" && outcomes.delete(key));
  return signing;
}

/**
 * The message as the attempts send it: signed when dkim_choice.ts picks keys
 * (the fields in front and the size grown by them), else the file as it is;
 * `failed` when signing went wrong (the delivery defers rather than send
 * unsigned mail a DMARC policy may refuse). `identity` names this version
 * of the file (path, inode, size, change time): a message seen recently is
 * not signed again.
 */
export async function withDkimSignature(
  file: MessageFile,
  size: number,
  sender: string,
  keys: readonly DkimKey[],
  now: Date,
  identity?: string,
): Promise<{ file: MessageFile; size: number } | { failed: string }> {
  if (keys.length === 0) return { file, size };
  const outcome = identity === undefined
    ? await signMessage(file, sender, keys, now)
    : await signOnce(identity, file, sender, keys, now);
  if (outcome.kind === "failed") return { failed: outcome.reason };
  if (outcome.kind === "unsigned") return { file, size };
  return { file: new SignedMessage(outcome.header, file), size: size + outcome.header.length };
}

/**
 * The message with the DKIM-Signature fields in front, read as the attempts
 * read the mess/ file: from the start after seek(0), in chunks.
 */
export class SignedMessage implements MessageFile {
  readonly #header: Uint8Array;
  readonly #file: MessageFile;
  #offset = 0;

  constructor(header: Uint8Array, file: MessageFile) {
    this.#header = header;
    this.#file = file;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    if (this.#offset < this.#header.length) {
      const part = this.#header.subarray(this.#offset, this.#offset + buffer.length);
      buffer.set(part);
      this.#offset += part.length;
      return part.length;
    }
    return await this.#file.read(buffer);
  }

  /** Only back to the start (what the attempts do before each send). */
  async seek(offset: number | bigint, whence: Deno.SeekMode): Promise<number> {
    if (Number(offset) !== 0 || whence !== Deno.SeekMode.Start) {
      throw new Error("a signed message is read from its start only");
    }
    this.#offset = 0;
    return await this.#file.seek(0, Deno.SeekMode.Start);
  }
}
