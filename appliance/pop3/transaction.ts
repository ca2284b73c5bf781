/**
 * qmail-pop3d's TRANSACTION state (docs/queue-format.md §7.3): the scanned
 * Maildir as a numbered listing with deletion marks, and the commands that
 * read it — STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP and RFC 1460's
 * LAST. CAPA and QUIT are the session's (session.ts): they need more than the
 * listing. Pure: RETR and TOP hand back a `retrieve` effect for the role.
 */
import {
  formatRetrReply,
  REPLY_ALREADY_DELETED,
  REPLY_BAD_NUMBER,
  REPLY_COUNTED_FROM_ONE,
  REPLY_NO_SUCH_MESSAGE,
  REPLY_NOT_THAT_MANY,
  REPLY_OK,
  REPLY_UNIMPLEMENTED,
} from "./replies.ts";
import { type Pop3Message, type Pop3Step, step } from "./session_step.ts";

interface MessageState {
  message: Pop3Message;
  deleted: boolean;
}

/** scan_ulong: the leading decimal digits and how many chars they took (0 = none). */
function scanNumber(text: string): { value: number; length: number } {
  const digits = /^\d*/.exec(text)![0];
  return { value: digits === "" ? 0 : Number(digits), length: digits.length };
}

export class Pop3Transaction {
  readonly #messages: MessageState[];
  /** RFC 1460 LAST: the highest message number RETRieved or DELEted this session. */
  #last = 0;
  /** LAST before the pending RETR, restored when the message turns out to be gone. */
  #lastBeforeRetrieve: number | undefined;

  constructor(messages: Pop3Message[]) {
    this.#messages = messages.map((message) => ({ message, deleted: false }));
  }

  /** A RETR or TOP was answered with a `retrieve` effect, so retrieveFailed() may follow. */
  get retrieving(): boolean {
    return this.#lastBeforeRetrieve !== undefined;
  }

  /** The messages DELE marked, for QUIT's commit. */
  deleted(): Pop3Message[] {
    return this.#messages.filter((entry) => entry.deleted).map((entry) => entry.message);
  }

  /** One command by its lower-case verb; anything unknown is qmail-pop3d's err_unimpl. */
  command(verb: string, argument: string): Pop3Step {
    switch (verb) {
      case "stat":
        return this.#stat();
      case "list":
        return this.#list(argument, (message) => String(message.size));
      case "uidl":
        return this.#list(argument, (message) => message.uidl);
      case "retr":
        return this.#retrieve(argument, false);
      case "top":
        return this.#retrieve(argument, true);
      case "dele":
        return this.#dele(argument);
      case "last":
        return step([`+OK ${this.#last}`]);
      case "rset":
        // RFC 1460 §5 RSET: unmark, and LAST goes back to its initial value (0 here).
        for (const entry of this.#messages) entry.deleted = false;
        this.#last = 0;
        return step([REPLY_OK]);
      case "noop":
        return step([REPLY_OK]);
      default:
        return step([REPLY_UNIMPLEMENTED]);
    }
  }

  /**
   * The message of the last `retrieve` effect could not be opened (it
   * vanished): qmail-pop3d's err_nosuch, and LAST as it was before.
   */
  retrieveFailed(): Pop3Step {
    if (this.#lastBeforeRetrieve === undefined) throw new Error("No retrieval is pending");
    this.#last = this.#lastBeforeRetrieve;
    this.#lastBeforeRetrieve = undefined;
    return step([REPLY_NO_SUCH_MESSAGE]);
  }

  /**
   * STAT: docs/patches.md seed 002's fix ("Return correct number of messages on POP3 STAT
   * command"): qmail 1.03 counted deleted messages too; RFC 1939 §5 does not.
   */
  #stat(): Pop3Step {
    let count = 0;
    let octets = 0;
    for (const entry of this.#messages) {
      if (entry.deleted) continue;
      count++;
      octets += entry.message.size;
    }
    return step([`+OK ${count} ${octets}`]);
  }

  /**
   * qmail-pop3d's msgno(): leading digits (else syntax error), from 1, within
   * the listing, not deleted. Returns the 0-based index or the error step.
   */
  #messageNumber(argument: string): number | Pop3Step {
    const { value, length } = scanNumber(argument);
    if (length === 0) return step([REPLY_BAD_NUMBER]);
    if (value === 0) return step([REPLY_COUNTED_FROM_ONE]);
    if (value > this.#messages.length) return step([REPLY_NOT_THAT_MANY]);
    if (this.#messages[value - 1].deleted) return step([REPLY_ALREADY_DELETED]);
    return value - 1;
  }

  /** LIST and UIDL: one message, or `+OK ` then every undeleted message and `.`. */
  #list(argument: string, value: (message: Pop3Message) => string): Pop3Step {
    if (argument !== "") {
      const index = this.#messageNumber(argument);
      if (typeof index !== "number") return index;
      return step([`+OK ${index + 1} ${value(this.#messages[index].message)}`]);
    }
    const lines = [REPLY_OK];
    this.#messages.forEach((entry, index) => {
      if (!entry.deleted) lines.push(`${index + 1} ${value(entry.message)}`);
    });
    lines.push(".");
    return step(lines);
  }

  /**
   * RETR n, TOP n l. qmail-pop3d's pop3_top: a missing or non-numeric line
   * count sends the whole message, as RETR. RETR counts for LAST (RFC 1460
   * §5: "the highest message number accessed"; qmail 1.03 counted only DELE,
   * docs/patches.md seed 000's md13 "corrected rfc1460 support"). TOP, a preview, does not
   * (qmd's reading, as Berkeley popper marks only RETR as retrieved).
   */
  #retrieve(argument: string, top: boolean): Pop3Step {
    const index = this.#messageNumber(argument);
    if (typeof index !== "number") return index;
    const message = this.#messages[index].message;
    let lines: number | undefined;
    if (top) {
      const rest = argument.slice(scanNumber(argument).length).replace(/^ +/, "");
      const count = scanNumber(rest);
      if (count.length > 0) lines = count.value;
    }
    this.#lastBeforeRetrieve = this.#last;
    if (!top) this.#last = Math.max(this.#last, index + 1);
    return step([top ? REPLY_OK : formatRetrReply(message.size)], {
      effects: [
        lines === undefined ? { kind: "retrieve", message } : {
          kind: "retrieve",
          message,
          lines,
        },
      ],
    });
  }

  /** DELE n: marked, removed at QUIT; LAST = max(LAST, n) as qmail-pop3d. */
  #dele(argument: string): Pop3Step {
    const index = this.#messageNumber(argument);
    if (typeof index !== "number") return index;
    this.#messages[index].deleted = true;
    this.#last = Math.max(this.#last, index + 1);
    return step([REPLY_OK]);
  }
}
