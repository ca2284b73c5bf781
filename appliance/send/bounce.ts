/**
 * Bounces as qmail-send writes them (docs/queue-format.md §4.8): the recipient
 * paragraph appended to bounce/ID for each permanent failure, the choice
 * between a single, double and triple bounce, and the QSBMF message bytes.
 * Pure: the date, the bounce text and the original message come in.
 *
 * Addresses are byte strings (one char per byte, bytes.ts's
 * bytesToString); control values are JS strings and are written as UTF-8.
 */
import { formatDate822 } from "../date822.ts";
import { quoteAddress, quoteLocalPart } from "../quote_address.ts";
import { type RoutingTable, stripVirtualDomainPrepend } from "./routing.ts";
import { bytesToString, concatBytes, stringToBytes, utf8ByteString } from "../bytes.ts";

/** The double-bounce sender (§4.8): a bounce of a bounce is sent from it. */
export const DOUBLE_BOUNCE_SENDER = "#@[]";

/** What follows a copy of the original message cut at bouncemaxbytes (the aio patch's wording). */
export const STRIPPED_NOTICE = "\n\n--- End of message stripped.\n";

const SINGLE_INTRO =
  "I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
  "This is a permanent error; I've given up. Sorry it didn't work out.\n" +
  "\n";
const DOUBLE_INTRO =
  "I tried to deliver a bounce message to this address, but the bounce bounced!\n" +
  "\n";
const SINGLE_BREAK = "--- Below this line is a copy of the message.\n\n";
const DOUBLE_BREAK = "--- Below this line is the original bounce.\n\n";

/**
 * The paragraph qmail-send appends to bounce/ID for one permanent failure
 * (addbounce, §4.8 steps 1–4):
 *
 * 1. `<` + recipient without its virtual-domain prefix (stripvdomprepend),
 *    LF replaced by `_`, + `>:\n`;
 * 2. + the report text, with an LF added when it is non-empty and lacks one;
 * 3. every LF preceded by an LF, except the last byte, becomes `/` (no blank
 *    line may appear inside a paragraph);
 * 4. + `\n`.
 *
 * `recipient` is the channel-file address as a byte string; `report` the
 * spawner's text (chars above 255 are written as UTF-8).
 */
export function formatBounceParagraph(
  recipient: string,
  report: string,
  table: RoutingTable,
): Uint8Array {
  const stripped = stripVirtualDomainPrepend(recipient, table).replaceAll("\n", "_");
  let text = bytesToString(stringToBytes(report));
  if (text !== "" && !text.endsWith("\n")) text += "\n";
  const chars = [...`<${stripped}>:\n${text}`];
  // Walk backwards like qmail so each test sees the original byte before it.
  for (let i = chars.length - 2; i > 0; i--) {
    if (chars[i] === "\n" && chars[i - 1] === "\n") chars[i] = "/";
  }
  return stringToBytes(chars.join("") + "\n");
}

/** What becomes of bounce/ID when a message is finished (§4.8 steps 2–5). */
export type BouncePlan =
  /** A double bounce failed: log `triple bounce: discarding bounce/ID` and inject nothing. */
  | { kind: "triple" }
  /** Sender non-empty: a bounce from `<>` to the sender. */
  | { kind: "single"; envelopeSender: ""; recipient: string; returnPath: string }
  /** Sender empty: a bounce from `#@[]` to doublebounceto@doublebouncehost. */
  | {
    kind: "double";
    envelopeSender: typeof DOUBLE_BOUNCE_SENDER;
    recipient: string;
    returnPath: string;
  };

/**
 * Chooses the bounce for a message whose info sender is `sender` (a byte
 * string, its `-@[]` VERP marker already removed, §4.8 step 2).
 * `doubleBounceRecipient` is doublebounceto + `@` + doublebouncehost.
 */
export function planBounce(sender: string, doubleBounceRecipient: string): BouncePlan {
  if (sender === DOUBLE_BOUNCE_SENDER) return { kind: "triple" };
  if (sender !== "") {
    return { kind: "single", envelopeSender: "", recipient: sender, returnPath: sender };
  }
  return {
    kind: "double",
    envelopeSender: DOUBLE_BOUNCE_SENDER,
    recipient: utf8ByteString(doubleBounceRecipient),
    returnPath: "",
  };
}

export interface BounceHeadInput {
  kind: "single" | "double";
  /** Injection time, for the Date: field. */
  date: Date;
  /** control/bouncefrom (local part of From:). */
  bounceFrom: string;
  /** control/bouncehost (domain of From:, and the host in "Hi. This is ..."). */
  bounceHost: string;
  /** The bounce recipient (byte string). */
  recipient: string;
  /** The original envelope sender for Return-Path (byte string; "" for a double bounce). */
  returnPath: string;
  /** The contents of bounce/ID, verbatim. */
  bounceText: Uint8Array;
}

/**
 * The QSBMF bounce up to and including its Return-Path line (§4.8): the
 * original message follows it. qmail-queue adds its own Received line in
 * front when the bounce is injected.
 */
export function formatBounceHead(input: BounceHeadInput): Uint8Array {
  const host = utf8ByteString(input.bounceHost);
  const single = input.kind === "single";
  const head = `Date: ${formatDate822(input.date)}\n` +
    `From: ${quoteLocalPart(utf8ByteString(input.bounceFrom))}@${host}\n` +
    `To: ${quoteAddress(input.recipient)}\n` +
    "Subject: failure notice\n" +
    "\n" +
    `Hi. This is the qmail-send program at ${host}.\n` +
    (single ? SINGLE_INTRO : DOUBLE_INTRO);
  const tail = (single ? SINGLE_BREAK : DOUBLE_BREAK) +
    `Return-Path: <${quoteAddress(input.returnPath)}>\n`;
  return concatBytes([stringToBytes(head), input.bounceText, stringToBytes(tail)]);
}

/**
 * How much of the original message a bounce copies (bouncemaxbytes, seed
 * 001): all of it when `maxBytes` is 0 or the message fits; otherwise the
 * first `maxBytes` bytes followed by STRIPPED_NOTICE.
 */
export function bounceCopyLimit(
  messageBytes: number,
  maxBytes: number,
): { copyBytes: number; stripped: boolean } {
  if (maxBytes <= 0 || messageBytes <= maxBytes) {
    return { copyBytes: messageBytes, stripped: false };
  }
  return { copyBytes: maxBytes, stripped: true };
}

/** The whole bounce message body (what goes to qmail-queue's fd 0), for a message in memory. */
export function formatBounceMessage(
  input: BounceHeadInput & { message: Uint8Array; maxBytes: number },
): Uint8Array {
  const { copyBytes, stripped } = bounceCopyLimit(input.message.length, input.maxBytes);
  return concatBytes([
    formatBounceHead(input),
    input.message.subarray(0, copyBytes),
    stripped ? stringToBytes(STRIPPED_NOTICE) : new Uint8Array(),
  ]);
}
