/**
 * One message's envelope on the wire (docs/queue-format.md §5.8 step 7): MAIL
 * FROM with SIZE= (RFC 1870) and BODY=8BITMIME (RFC 6152) when offered, SMTPUTF8 (RFC 6531)
 * when the envelope needs it, then
 * the RCPTs, all at once behind MAIL with PIPELINING (RFC 2920), else one
 * per reply; and the verdict on their replies, as qmail-remote's records.
 */
import { quoteAddress } from "../quote_address.ts";
import { formatRemoteHostSaid, type RemoteRecord } from "../send/remote_report.ts";
import type { SmtpMessage } from "./client_options.ts";
import type { Capabilities } from "./ehlo_capabilities.ts";
import { replyCode } from "./reply_code.ts";

/** What to do after an envelope reply. */
export type EnvelopeProgress =
  /** Send these lines (the next RCPT without PIPELINING). */
  | { kind: "send"; lines: string[] }
  /** More replies are due for the commands already sent. */
  | { kind: "wait" }
  /** Every reply that matters is in: ask verdict(). */
  | { kind: "complete" };

/** The envelope's outcome. */
export type EnvelopeVerdict =
  /** Some recipient was accepted: its r/h/s records, then DATA. */
  | { kind: "data"; records: RemoteRecord[] }
  /** The message ends here: records ending in Z or D; reusable when no reply was 421. */
  | { kind: "failed"; records: RemoteRecord[]; reusable: boolean };

/** The envelope commands of one message and the replies to them. */
export class ClientEnvelope {
  readonly #message: SmtpMessage;
  readonly #capabilities: Capabilities;
  readonly #pipelined: boolean;
  /** Replies still expected for the envelope commands sent (MAIL first, then RCPTs). */
  #pending = 0;
  readonly #replies: string[][] = [];

  constructor(message: SmtpMessage, capabilities: Capabilities) {
    this.#message = message;
    this.#capabilities = capabilities;
    this.#pipelined = capabilities.pipelining;
  }

  /** The replies received so far. */
  get replyCount(): number {
    return this.#replies.length;
  }

  /** The commands to send first: MAIL, and with PIPELINING every RCPT too. */
  start(): string[] {
    if (this.#pipelined) {
      const recipients = this.#message.recipients.map((_, index) => this.#rcptLine(index));
      this.#pending = 1 + recipients.length;
      return [this.#mailLine(), ...recipients];
    }
    this.#pending = 1;
    return [this.#mailLine()];
  }

  /** One reply to MAIL or a RCPT, in the order they were sent. */
  reply(lines: string[]): EnvelopeProgress {
    this.#replies.push(lines);
    this.#pending--;
    const count = this.#replies.length;
    if (!this.#pipelined) {
      // One command at a time: stop at a rejected MAIL, else the next RCPT.
      if (count === 1 && replyCode(lines) >= 400) return { kind: "complete" };
      if (count <= this.#message.recipients.length) {
        this.#pending = 1;
        return { kind: "send", lines: [this.#rcptLine(count - 1)] };
      }
    }
    if (this.#pending > 0) return { kind: "wait" };
    return { kind: "complete" };
  }

  /** §5.8 step 7 for MAIL and the RCPTs, in order; `ip` names the server in the texts. */
  verdict(ip: string): EnvelopeVerdict {
    const [mail, ...rcpts] = this.#replies;
    const mailCode = replyCode(mail);
    const lastCode = replyCode(this.#replies[this.#replies.length - 1]);
    const reusable = lastCode !== 421 && mailCode !== 421;
    if (mailCode >= 400) {
      return {
        kind: "failed",
        reusable,
        records: [{
          kind: mailCode >= 500 ? "D" : "Z",
          text: `Connected to ${ip} but sender was rejected.\n${formatRemoteHostSaid(mail)}`,
        }],
      };
    }
    const records: RemoteRecord[] = [];
    let accepted = 0;
    for (const lines of rcpts) {
      const code = replyCode(lines);
      if (code >= 400) {
        records.push({
          kind: code >= 500 ? "h" : "s",
          text: `${ip} does not like recipient.\n${formatRemoteHostSaid(lines)}`,
        });
      } else {
        accepted++;
        records.push({ kind: "r", text: "" });
      }
    }
    if (accepted === 0) {
      records.push({ kind: "D", text: `Giving up on ${ip}.\n` });
      return { kind: "failed", reusable, records };
    }
    if (!reusable) {
      records.push({ kind: "Z", text: `Connected to ${ip} but connection died. (#4.4.2)\n` });
      return { kind: "failed", reusable: false, records };
    }
    return { kind: "data", records };
  }

  #mailLine(): string {
    const message = this.#message;
    let line = `MAIL FROM:<${quoteAddress(message.sender)}>`;
    if (this.#capabilities.size !== undefined && message.size !== undefined) {
      line += ` SIZE=${message.size}`;
    }
    if (this.#capabilities.eightBitMime && message.eightBit) line += " BODY=8BITMIME";
    // RFC 6531 §3.4; the session sends no MAIL for such a message when SMTPUTF8 is not offered.
    if (message.smtpUtf8) line += " SMTPUTF8";
    return line;
  }

  #rcptLine(index: number): string {
    return `RCPT TO:<${quoteAddress(this.#message.recipients[index])}>`;
  }
}
