/**
 * The `reject:` log line: every refusal smtpd sends to MAIL, RCPT, DATA, the
 * end of the message and AUTH is logged once, whatever control/log/* says,
 * with what an operator needs to answer "why did my mail not arrive": the
 * client's address and HELO, the envelope so far, and the reply sent. The
 * wording follows Postfix's `NOQUEUE: reject:` lines so that log tools that
 * know those can read these:
 *
 *   reject: RCPT from 192.0.2.1 helo=<client.example>: 553 5.7.1 sorry, that
 *   domain isn't in my list of allowed rcpthosts; from=<a@example.org> to=<b@victim.org>
 *
 * Client text in the line goes through qmail-send's safe filter (safeLogText);
 * the JSON fields carry it as UTF-8 text, which JSON escaping keeps on one
 * line. AUTH refusals name the mechanism, never a user name or password.
 */
import { safeLogText } from "../log_text.ts";
import { stringToBytes } from "../bytes.ts";
import { REPLY_BREAK_RULES } from "./replies.ts";
import type { SmtpLogEffect } from "./session_step.ts";

/** The command refused; END-OF-MESSAGE is the reply after the final dot, as Postfix names it. */
export type RefusedCommand =
  | "CONNECT"
  | "HELO"
  | "MAIL"
  | "RCPT"
  | "DATA"
  | "END-OF-MESSAGE"
  | "AUTH";

export interface Refusal {
  command: RefusedCommand;
  /** The mechanism an AUTH named, as the client wrote it. */
  mechanism?: string;
  /** TCPREMOTEIP. */
  remoteIp: string;
  /** The last HELO/EHLO argument. */
  helo: string | undefined;
  /** MAIL FROM (the one refused, for MAIL); undefined when there was none. */
  sender: string | undefined;
  /** The RCPT refused, or at DATA and the end of the message those accepted. */
  recipients: string[];
  /** The reply line sent. */
  reply: string;
}

/**
 * Whether a reply refuses what the client asked: a 4xx or 5xx, or qmail-md's
 * 221 to a DATA with no accepted recipient, which hangs up (docs/patches.md seed 000).
 */
export function isRefusal(reply: string): boolean {
  return reply.startsWith("4") || reply.startsWith("5") || reply === REPLY_BREAK_RULES;
}

const decoder = new TextDecoder();

/** A session string (one char per byte) as text for JSON. */
function jsonText(value: string): string {
  return decoder.decode(stringToBytes(value));
}

/** The `reject` log effect for one refusal. */
export function formatRejection(refusal: Refusal): SmtpLogEffect {
  const { command, mechanism, remoteIp, helo, sender, recipients, reply } = refusal;
  const what = mechanism === undefined ? command : `${command} ${safeLogText(mechanism)}`;
  let text = `reject: ${what} from ${safeLogText(remoteIp)} helo=<${
    safeLogText(helo ?? "")
  }>: ${reply}`;
  const envelope: string[] = [];
  if (sender !== undefined) envelope.push(`from=<${safeLogText(sender)}>`);
  if (recipients.length > 0) {
    envelope.push(`to=${recipients.map((recipient) => `<${safeLogText(recipient)}>`).join(",")}`);
  }
  if (envelope.length > 0) text += `; ${envelope.join(" ")}`;
  return {
    kind: "log",
    event: "reject",
    text,
    fields: {
      command,
      mechanism: mechanism === undefined ? null : jsonText(mechanism),
      remote: remoteIp,
      helo: helo === undefined ? null : jsonText(helo),
      sender: sender === undefined ? null : jsonText(sender),
      recipient: recipients.length === 0 ? null : recipients.map(jsonText).join(","),
      reply,
    },
  };
}
