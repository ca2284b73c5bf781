/**
 * The POP3 protocol core: qmail-popup's AUTHORIZATION state and
 * qmail-pop3d's TRANSACTION state in one pure machine (docs/queue-format.md §7),
 * with docs/patches.md seed 000's additions (AUTH with six SASL mechanisms per RFC 5034 and
 * RFC 1734, CAPA with RESP-CODES and AUTH-RESP-CODE per RFC 2449 and RFC 3206,
 * STLS per RFC 2595, RFC 1460's LAST, the Netscape RETR reply) and seed 002's
 * correct STAT count. No sockets, no files, no clock, no randomness.
 *
 * The role feeds it one command line at a time and gets back a step: replies
 * to write (each without CRLF), a pause before writing them, effects to run
 * in order, and whether to close afterwards. Passwords are checked, the
 * Maildir locked and scanned, messages streamed and deletions committed by
 * the role, which reports back:
 *
 * - `starttls`: write the replies, drop any input already read (RFC 2595 §4:
 *   commands pipelined after STLS are discarded), handshake, tlsStarted().
 * - `auth`: check the credentials, then authVerified().
 * - `open`: lock and scan the Maildir, then mailboxOpened() or mailboxFailed().
 * - `retrieve`: RETR/TOP. qmail-pop3d opens the file before it answers, so the
 *   role opens the message first; when it is gone it writes retrieveFailed()'s
 *   replies instead of this step's. Otherwise it writes the step's `+OK` line,
 *   then the message with qmail-pop3d's framing and the final `.`.
 * - `commit`: QUIT in the TRANSACTION state: unlink the deleted messages,
 *   move new/ to cur/, then committed().
 *
 * This class keeps the phases and the role's callbacks; the commands of each
 * state are in authorization.ts (qmail-popup) and transaction.ts
 * (qmail-pop3d). Departures from qmail, each documented where it is made:
 * plain-text passwords are refused unless the role allows them (issue 7),
 * STAT counts only undeleted messages (seed 002), LAST follows RFC 1460, RETR
 * says its size (seed 000's Netscape patch), and a failed login is answered
 * after a delay that grows with the address's recent failures.
 */
import { bytesToString } from "../bytes.ts";
import type { VerifyResult } from "../auth/sasl_server.ts";
import {
  type AuthorizationOutcome,
  type AuthorizationPhase,
  Pop3Authorization,
} from "./authorization.ts";
import { formatCapa } from "./capa.ts";
import { splitCommand } from "./command_line.ts";
import {
  REPLY_IN_USE,
  REPLY_LINE_TOO_LONG,
  REPLY_NUL_IN_COMMAND,
  REPLY_OK,
  REPLY_SCAN_FAILED,
  REPLY_TIMEOUT,
  REPLY_UNLINK_FAILED,
} from "./replies.ts";
import type { Pop3SessionOptions } from "./session_options.ts";
import { type Pop3Message, type Pop3Step, step } from "./session_step.ts";
import { Pop3Transaction } from "./transaction.ts";

export type Pop3Phase =
  /** Before greet(). */
  | "connected"
  /** qmail-popup's state and its own phases (authorization.ts). */
  | AuthorizationPhase
  /** Authenticated: mailboxOpened() or mailboxFailed() is owed. */
  | "opening"
  /** qmail-pop3d's state. */
  | "transaction"
  /** QUIT: committed() is owed. */
  | "committing"
  | "closed";

export class Pop3Session {
  readonly #options: Pop3SessionOptions;
  /** "authorization" stands for all of the AUTHORIZATION state's phases. */
  #phase: Exclude<Pop3Phase, AuthorizationPhase> | "authorization" = "connected";
  readonly #authorization: Pop3Authorization;
  /** Set when the Maildir is open. */
  #transaction: Pop3Transaction | undefined;
  #authUser: string | undefined;

  constructor(options: Pop3SessionOptions) {
    this.#options = options;
    this.#authorization = new Pop3Authorization(options);
  }

  get phase(): Pop3Phase {
    return this.#phase === "authorization" ? this.#authorization.phase : this.#phase;
  }

  get tlsActive(): boolean {
    return this.#authorization.tlsActive;
  }

  /** The authenticated user, once verified. */
  get authUser(): string | undefined {
    return this.#authUser;
  }

  /** Whether the next client line is a SASL response (a secret for logs). */
  get expectsSecret(): boolean {
    return this.phase === "auth";
  }

  /** qmail-popup's greeting: `+OK <pid.time@host>` (§7.1). */
  greet(): Pop3Step {
    if (this.#phase !== "connected") throw new Error("The POP3 session was already greeted");
    this.#phase = "authorization";
    return step([`+OK ${this.#options.timestamp}`]);
  }

  /** One line without its LF; one trailing CR is removed here. */
  receiveLine(line: Uint8Array): Pop3Step {
    const phase = this.phase;
    if (phase === "closed") return step([], { close: true });
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    const bytes = line.subarray(0, end);
    if (phase === "auth") {
      return this.#authorized(this.#authorization.saslLine(bytesToString(bytes)));
    }
    if (phase !== "authorization" && phase !== "transaction") {
      throw new Error(`A command line arrived in the ${phase} phase`);
    }
    if (bytes.includes(0)) return step([REPLY_NUL_IN_COMMAND]);
    const { verb, argument } = splitCommand(bytesToString(bytes));
    return phase === "authorization"
      ? this.#authorized(this.#authorization.command(verb, argument))
      : this.#transactionCommand(verb, argument);
  }

  /**
   * The role's reader cut a line at its limit and skips the rest up to the
   * LF. qmail has no limit; qmd answers and goes on. Inside AUTH the exchange
   * fails as a malformed response.
   */
  lineTooLong(): Pop3Step {
    const phase = this.phase;
    if (phase === "closed") return step([], { close: true });
    if (phase === "auth") return this.#authorized(this.#authorization.saslLineTooLong());
    if (phase !== "authorization" && phase !== "transaction") {
      throw new Error(`A command line arrived in the ${phase} phase`);
    }
    return step([REPLY_LINE_TOO_LONG]);
  }

  /** The handshake after STLS succeeded (authorization.ts says what changes). */
  tlsStarted(): Pop3Step {
    if (this.phase !== "starttls") throw new Error(`TLS started in the ${this.phase} phase`);
    this.#authorization.tlsStarted();
    return step([]);
  }

  /**
   * The answer to an `auth` effect. `failures` counts the recent failures of
   * this address or of this name at it, this one included (for the pause);
   * `blocked` means one of them is blocked: refuse and close.
   */
  authVerified(result: VerifyResult, failures = 1, blocked = false): Pop3Step {
    if (this.#phase !== "authorization" || !this.#authorization.verifying) {
      throw new Error(`An authentication result arrived in the ${this.phase} phase`);
    }
    return this.#authorized(this.#authorization.verified(result, failures, blocked));
  }

  /** The Maildir is locked and scanned: qmail-pop3d's `+OK ` answers PASS/APOP/AUTH. */
  mailboxOpened(messages: Pop3Message[]): Pop3Step {
    if (this.#phase !== "opening") {
      throw new Error(`A mailbox was opened in the ${this.phase} phase`);
    }
    this.#transaction = new Pop3Transaction(messages);
    this.#phase = "transaction";
    return step([REPLY_OK]);
  }

  /** Another session holds the lock ([IN-USE]), or the Maildir could not be scanned. */
  mailboxFailed(reason: "in-use" | "temporary"): Pop3Step {
    if (this.#phase !== "opening") {
      throw new Error(`A mailbox failed in the ${this.phase} phase`);
    }
    return this.#close([reason === "in-use" ? REPLY_IN_USE : REPLY_SCAN_FAILED]);
  }

  /**
   * The message of the last `retrieve` effect could not be opened (it
   * vanished): qmail-pop3d's err_nosuch, written instead of that step's reply.
   */
  retrieveFailed(): Pop3Step {
    const transaction = this.#phase === "transaction" ? this.#transaction : undefined;
    if (transaction === undefined || !transaction.retrieving) {
      throw new Error(`A retrieval failed in the ${this.phase} phase`);
    }
    return transaction.retrieveFailed();
  }

  /**
   * QUIT's commit finished: `+OK ` and close, or the failure and close
   * anyway. `text` is the reason after `-ERR ` (qmail's is REPLY_UNLINK_FAILED's).
   */
  committed(result: { ok: true } | { ok: false; text: string }): Pop3Step {
    if (this.#phase !== "committing") {
      throw new Error(`A commit finished in the ${this.phase} phase`);
    }
    if (result.ok) return this.#close([REPLY_OK]);
    const text = result.text.replace(/^-ERR ?/, "");
    return this.#close([text === "" ? REPLY_UNLINK_FAILED : `-ERR ${text}`]);
  }

  /**
   * A read timed out: the session ends without committing (§7.3: nothing is
   * deleted). qmail exits silently; qmd says why first.
   */
  timeout(): Pop3Step {
    if (this.#phase === "closed") return step([], { close: true });
    return this.#close([REPLY_TIMEOUT]);
  }

  #close(replies: string[], delay = 0): Pop3Step {
    this.#phase = "closed";
    return step(replies, { close: true, delay });
  }

  /** An AUTHORIZATION outcome as a step: authenticated opens the Maildir. */
  #authorized(outcome: AuthorizationOutcome): Pop3Step {
    switch (outcome.kind) {
      case "step":
        return outcome.step;
      case "authenticated":
        this.#authUser = outcome.user;
        this.#phase = "opening";
        return step([], { effects: [{ kind: "open" }] });
      case "close":
        return this.#close(outcome.replies, outcome.delay);
    }
  }

  /** qmail-pop3d's commands; CAPA and QUIT need the session, the rest the listing. */
  #transactionCommand(verb: string, argument: string): Pop3Step {
    const transaction = this.#transaction!;
    switch (verb) {
      case "capa":
        return step(formatCapa(this.#options.implementation ?? "qmd"));
      case "quit":
        this.#phase = "committing";
        return step([], { effects: [{ kind: "commit", deleted: transaction.deleted() }] });
      default:
        return transaction.command(verb, argument);
    }
  }
}
