/**
 * The POP3 protocol core: qmail-popup's AUTHORIZATION state and
 * qmail-pop3d's TRANSACTION state in one pure machine (qmail-formats.md §7),
 * with seed 000's additions (AUTH with six SASL mechanisms per RFC 5034 and
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
 * Departures from qmail, each documented where it is made: plain-text
 * passwords are refused unless the role allows them (issue 7), STAT counts
 * only undeleted messages (seed 002), LAST follows RFC 1460, RETR says its
 * size (seed 000's Netscape patch), and a failed login is answered after a
 * delay that grows with the address's recent failures.
 */
import { bytesToString } from "../bytes.ts";
import { decodeUtf8 } from "../auth/base64.ts";
import { type MechanismName, parseMechanismName } from "../auth/mechanisms.ts";
import {
  type Credentials,
  SaslServer,
  type SaslStep,
  type VerifyResult,
} from "../auth/sasl_server.ts";
import {
  formatRetrReply,
  REPLY_ALREADY_DELETED,
  REPLY_AUTH_BLOCKED,
  REPLY_AUTH_CANCELLED,
  REPLY_AUTH_FAILED,
  REPLY_AUTH_MALFORMED,
  REPLY_AUTH_MECHANISM,
  REPLY_AUTH_TEMPORARY,
  REPLY_AUTHORIZATION_FIRST,
  REPLY_BAD_NUMBER,
  REPLY_CAPA,
  REPLY_COUNTED_FROM_ONE,
  REPLY_IN_USE,
  REPLY_LINE_TOO_LONG,
  REPLY_NO_SUCH_MESSAGE,
  REPLY_NOT_THAT_MANY,
  REPLY_NUL_IN_COMMAND,
  REPLY_OK,
  REPLY_PLAINTEXT_REFUSED,
  REPLY_SCAN_FAILED,
  REPLY_SYNTAX,
  REPLY_TIMEOUT,
  REPLY_TLS_ACTIVE,
  REPLY_TLS_READY,
  REPLY_UNIMPLEMENTED,
  REPLY_UNLINK_FAILED,
  REPLY_USER_FIRST,
} from "./replies.ts";

export interface Pop3SessionOptions {
  /** control/me: the DIGEST-MD5 realm and digest-uri host. */
  hostname: string;
  /** The APOP banner timestamp `<pid.time@host>`, brackets included, made by the caller. */
  timestamp: string;
  /** STLS offered (a certificate exists) / TLS already active (POP3S). */
  tls: { offered: boolean; active: boolean };
  /**
   * Plain-text passwords (USER/PASS, AUTH PLAIN and LOGIN) allowed on this
   * connection before TLS: the role decides (loopback client or
   * control/pop3plaintext). Once TLS is active they always are.
   */
  plaintextAllowed: boolean;
  /** AUTH mechanisms before TLS (control/auth/pop3, default 60). */
  mechanisms: MechanismName[];
  /** AUTH mechanisms with TLS (control/auth/spop3, default 63). */
  mechanismsTls: MechanismName[];
  /** A fresh CRAM challenge and DIGEST-MD5 nonce for each AUTH. */
  newChallenge(): { challenge: string; nonce: string };
  /** The CAPA IMPLEMENTATION text (default `qmd`). */
  implementation?: string;
  /** Seconds to pause before a failed login's reply (control/auth/delay); default 0. */
  failDelaySeconds?: number;
  /** The pause after the Nth recent failure from this address, from the base delay. */
  failureDelay?: (failures: number, baseSeconds: number) => number;
}

/** One message of the scanned Maildir. */
export interface Pop3Message {
  /** `new/NAME` or `cur/NAME:2,S`, relative to the Maildir. */
  name: string;
  /** Bytes on disk (LF line ends, as qmail-pop3d reports them). */
  size: number;
  /** The file name without new/ or cur/, up to the first `:`. */
  uidl: string;
}

export type Pop3Effect =
  /** Write the replies, drop buffered input, handshake, then tlsStarted(). */
  | { kind: "starttls" }
  /** Check the credentials, then authVerified(). Never log them. */
  | { kind: "auth"; credentials: Credentials }
  /** Lock and scan the Maildir, then mailboxOpened() or mailboxFailed(). */
  | { kind: "open" }
  /**
   * Open the message; if gone write retrieveFailed()'s replies instead of the
   * step's, else the step's reply, the message (TOP: headers, blank line and
   * `lines` body lines) with qmail-pop3d's framing, and `.`.
   */
  | { kind: "retrieve"; message: Pop3Message; lines?: number }
  /** Unlink these, rename new/ to cur/, then committed(). */
  | { kind: "commit"; deleted: Pop3Message[] };

export interface Pop3Step {
  /** Reply lines without CRLF; a multi-line reply is several strings, its `.` included. */
  replies: string[];
  effects: Pop3Effect[];
  /** Close the connection after writing the replies. */
  close: boolean;
  /** Seconds to pause before writing the replies; 0 = none. */
  delay: number;
}

export type Pop3Phase =
  /** Before greet(). */
  | "connected"
  /** qmail-popup's state: USER, PASS, APOP, AUTH, CAPA, STLS, NOOP, QUIT. */
  | "authorization"
  /** An AUTH exchange: client lines are SASL responses. */
  | "auth"
  /** USER/PASS or APOP credentials out for verification: authVerified() is owed. */
  | "verifying"
  /** STLS answered: tlsStarted() is owed. */
  | "starttls"
  /** Authenticated: mailboxOpened() or mailboxFailed() is owed. */
  | "opening"
  /** qmail-pop3d's state. */
  | "transaction"
  /** QUIT: committed() is owed. */
  | "committing"
  | "closed";

interface MessageState {
  message: Pop3Message;
  deleted: boolean;
}

/** Verbs whose argument is a secret in a command log. */
const SECRET_ARGUMENT = new Set(["pass"]);

function step(
  replies: string[],
  options: { close?: boolean; effects?: Pop3Effect[]; delay?: number } = {},
): Pop3Step {
  return {
    replies,
    effects: options.effects ?? [],
    close: options.close ?? false,
    delay: options.delay ?? 0,
  };
}

/** ASCII lower case only, as qmail's case_diffs. */
function lowerAscii(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * qmail's commands.c: the verb is everything up to the first space, the
 * argument what follows after skipping spaces.
 */
function splitCommand(text: string): { verb: string; argument: string } {
  const space = text.indexOf(" ");
  if (space < 0) return { verb: lowerAscii(text), argument: "" };
  return { verb: lowerAscii(text.slice(0, space)), argument: text.slice(space).replace(/^ +/, "") };
}

/** scan_ulong: the leading decimal digits and how many chars they took (0 = none). */
function scanNumber(text: string): { value: number; length: number } {
  const digits = /^\d*/.exec(text)![0];
  return { value: digits === "" ? 0 : Number(digits), length: digits.length };
}

/** A credential string: UTF-8 when the bytes are valid UTF-8, else one char per byte. */
function credentialText(text: string): string {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return decodeUtf8(bytes) ?? text;
}

/**
 * A client line as a command log may show it: PASS's argument, APOP's digest,
 * AUTH's initial response and every SASL response (`inSasl`) are masked.
 */
export function redactPop3Line(line: string, inSasl: boolean): string {
  if (inSasl) return "<hidden>";
  const { verb } = splitCommand(line);
  const words = line.split(" ");
  if (SECRET_ARGUMENT.has(verb) && words.length > 1) return `${words[0]} <hidden>`;
  if (verb === "apop" && words.length > 2) return `${words[0]} ${words[1]} <hidden>`;
  if (verb === "auth" && words.length > 2) return `${words[0]} ${words[1]} <hidden>`;
  return line;
}

export class Pop3Session {
  readonly #options: Pop3SessionOptions;
  #phase: Pop3Phase = "connected";
  #tlsActive: boolean;
  /** USER's argument, waiting for PASS. */
  #user: string | undefined;
  #sasl: SaslServer | undefined;
  /** The SASL exchange sent its credentials and waits for authVerified(). */
  #saslVerifying = false;
  #messages: MessageState[] = [];
  /** RFC 1460 LAST: the highest message number RETRieved or DELEted this session. */
  #last = 0;
  /** LAST before the pending RETR, restored when the message turns out to be gone. */
  #lastBeforeRetrieve: number | undefined;
  #authUser: string | undefined;

  constructor(options: Pop3SessionOptions) {
    this.#options = options;
    this.#tlsActive = options.tls.active;
  }

  get phase(): Pop3Phase {
    return this.#phase;
  }

  get tlsActive(): boolean {
    return this.#tlsActive;
  }

  /** The authenticated user, once verified. */
  get authUser(): string | undefined {
    return this.#authUser;
  }

  /** Whether the next client line is a SASL response (a secret for logs). */
  get expectsSecret(): boolean {
    return this.#phase === "auth";
  }

  /** qmail-popup's greeting: `+OK <pid.time@host>` (§7.1). */
  greet(): Pop3Step {
    if (this.#phase !== "connected") throw new Error("The POP3 session was already greeted");
    this.#phase = "authorization";
    return step([`+OK ${this.#options.timestamp}`]);
  }

  /** One line without its LF; one trailing CR is removed here. */
  receiveLine(line: Uint8Array): Pop3Step {
    const phase = this.#phase;
    if (phase === "closed") return step([], { close: true });
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    const bytes = line.subarray(0, end);
    if (phase === "auth") return this.#saslLine(bytesToString(bytes));
    if (phase !== "authorization" && phase !== "transaction") {
      throw new Error(`A command line arrived in the ${phase} phase`);
    }
    if (bytes.includes(0)) return step([REPLY_NUL_IN_COMMAND]);
    const { verb, argument } = splitCommand(bytesToString(bytes));
    return phase === "authorization"
      ? this.#authorization(verb, argument)
      : this.#transaction(verb, argument);
  }

  /**
   * The role's reader cut a line at its limit and skips the rest up to the
   * LF. qmail has no limit; qmd answers and goes on. Inside AUTH the exchange
   * fails as a malformed response.
   */
  lineTooLong(): Pop3Step {
    const phase = this.#phase;
    if (phase === "closed") return step([], { close: true });
    if (phase === "auth") return this.#saslEnd(REPLY_AUTH_MALFORMED);
    if (phase !== "authorization" && phase !== "transaction") {
      throw new Error(`A command line arrived in the ${phase} phase`);
    }
    return step([REPLY_LINE_TOO_LONG]);
  }

  /**
   * The handshake after STLS succeeded. RFC 2595 §4: the client starts over,
   * so USER is forgotten; the TLS mechanisms apply and STLS is gone from CAPA.
   */
  tlsStarted(): Pop3Step {
    if (this.#phase !== "starttls") throw new Error(`TLS started in the ${this.#phase} phase`);
    this.#tlsActive = true;
    this.#user = undefined;
    this.#phase = "authorization";
    return step([]);
  }

  /**
   * The answer to an `auth` effect. `failures` counts the recent failures of
   * this address or of this name at it, this one included (for the pause);
   * `blocked` means one of them is blocked: refuse and close.
   */
  authVerified(result: VerifyResult, failures = 1, blocked = false): Pop3Step {
    const phase = this.#phase;
    const sasl = phase === "auth" && this.#saslVerifying ? this.#sasl : undefined;
    if (phase !== "verifying" && sasl === undefined) {
      throw new Error(`An authentication result arrived in the ${phase} phase`);
    }
    this.#saslVerifying = false;
    if (blocked) return this.#close([REPLY_AUTH_BLOCKED]);
    if (sasl !== undefined) return this.#saslStep(sasl.verified(result), failures);
    if (result.ok) return this.#authenticated(result.user);
    if (result.temporary) return this.#close([REPLY_AUTH_TEMPORARY]);
    return this.#loginFailed(failures);
  }

  /** The Maildir is locked and scanned: qmail-pop3d's `+OK ` answers PASS/APOP/AUTH. */
  mailboxOpened(messages: Pop3Message[]): Pop3Step {
    if (this.#phase !== "opening") {
      throw new Error(`A mailbox was opened in the ${this.#phase} phase`);
    }
    this.#messages = messages.map((message) => ({ message, deleted: false }));
    this.#phase = "transaction";
    return step([REPLY_OK]);
  }

  /** Another session holds the lock ([IN-USE]), or the Maildir could not be scanned. */
  mailboxFailed(reason: "in-use" | "temporary"): Pop3Step {
    if (this.#phase !== "opening") {
      throw new Error(`A mailbox failed in the ${this.#phase} phase`);
    }
    return this.#close([reason === "in-use" ? REPLY_IN_USE : REPLY_SCAN_FAILED]);
  }

  /**
   * The message of the last `retrieve` effect could not be opened (it
   * vanished): qmail-pop3d's err_nosuch, written instead of that step's reply.
   */
  retrieveFailed(): Pop3Step {
    if (this.#phase !== "transaction" || this.#lastBeforeRetrieve === undefined) {
      throw new Error(`A retrieval failed in the ${this.#phase} phase`);
    }
    this.#last = this.#lastBeforeRetrieve;
    this.#lastBeforeRetrieve = undefined;
    return step([REPLY_NO_SUCH_MESSAGE]);
  }

  /**
   * QUIT's commit finished: `+OK ` and close, or the failure and close
   * anyway. `text` is the reason after `-ERR ` (qmail's is REPLY_UNLINK_FAILED's).
   */
  committed(result: { ok: true } | { ok: false; text: string }): Pop3Step {
    if (this.#phase !== "committing") {
      throw new Error(`A commit finished in the ${this.#phase} phase`);
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
    this.#sasl = undefined;
    return step(replies, { close: true, delay });
  }

  #plaintextAllowed(): boolean {
    return this.#options.plaintextAllowed || this.#tlsActive;
  }

  /** The mechanisms AUTH and CAPA offer now: by TLS state, PLAIN/LOGIN only where allowed. */
  #mechanisms(): MechanismName[] {
    const all = this.#tlsActive ? this.#options.mechanismsTls : this.#options.mechanisms;
    if (this.#plaintextAllowed()) return all;
    return all.filter((name) => name !== "PLAIN" && name !== "LOGIN");
  }

  /**
   * CAPA (RFC 2449 §5) in seed 000's order. USER, SASL and STLS only in the
   * AUTHORIZATION state, where they can be used (§5: the list may differ by state).
   */
  #capa(): Pop3Step {
    const authorization = this.#phase === "authorization";
    const lines: string[] = [];
    const mechanisms = this.#mechanisms();
    if (authorization && mechanisms.length > 0) lines.push(`SASL ${mechanisms.join(" ")}`);
    lines.push("AUTH-RESP-CODE", "TOP");
    if (authorization && this.#plaintextAllowed()) lines.push("USER");
    lines.push("UIDL", "PIPELINING", "RESP-CODES");
    if (authorization && this.#options.tls.offered && !this.#tlsActive) lines.push("STLS");
    lines.push(`IMPLEMENTATION ${this.#options.implementation ?? "qmd"}`);
    return step([REPLY_CAPA, ...lines, "."]);
  }

  // --- AUTHORIZATION (qmail-popup) ---

  #authorization(verb: string, argument: string): Pop3Step {
    switch (verb) {
      case "user":
        // qmail-popup: no name is a syntax error; a name is remembered for PASS.
        if (!this.#plaintextAllowed()) return step([REPLY_PLAINTEXT_REFUSED]);
        if (argument === "") return step([REPLY_SYNTAX]);
        this.#user = credentialText(argument);
        return step([REPLY_OK]);
      case "pass": {
        if (!this.#plaintextAllowed()) return step([REPLY_PLAINTEXT_REFUSED]);
        const user = this.#user;
        if (user === undefined) return step([REPLY_USER_FIRST]);
        return this.#verify({
          kind: "password",
          mechanism: "USER",
          user,
          password: credentialText(argument),
        });
      }
      case "apop": {
        // qmail-popup: `APOP name digest`, split at the first space.
        const space = argument.indexOf(" ");
        if (space <= 0) return step([REPLY_SYNTAX]);
        const digest = argument.slice(space + 1);
        if (digest === "") return step([REPLY_SYNTAX]);
        return this.#verify({
          kind: "apop",
          user: credentialText(argument.slice(0, space)),
          timestamp: this.#options.timestamp,
          digest,
        });
      }
      case "auth":
        return this.#auth(argument);
      case "capa":
        return this.#capa();
      case "stls":
        return this.#startTls(argument);
      case "noop":
        return step([REPLY_OK]);
      case "quit":
        return this.#close([REPLY_OK]);
      default:
        return step([REPLY_AUTHORIZATION_FIRST]);
    }
  }

  #verify(credentials: Credentials): Pop3Step {
    this.#phase = "verifying";
    this.#user = undefined;
    return step([], { effects: [{ kind: "auth", credentials }] });
  }

  #authenticated(user: string): Pop3Step {
    this.#authUser = user;
    this.#sasl = undefined;
    this.#phase = "opening";
    return step([], { effects: [{ kind: "open" }] });
  }

  /**
   * qmail-popup runs checkpassword once and exits when it refuses (§7.1);
   * qmd answers after the failure delay.
   */
  #loginFailed(failures: number): Pop3Step {
    const base = this.#options.failDelaySeconds ?? 0;
    const failureDelay = this.#options.failureDelay;
    const delay = failureDelay === undefined ? base : failureDelay(failures, base);
    return this.#close([REPLY_AUTH_FAILED], delay);
  }

  /** STLS (RFC 2595 §4): only offered with a certificate, only before TLS. */
  #startTls(argument: string): Pop3Step {
    if (this.#tlsActive) return step([REPLY_TLS_ACTIVE]);
    if (!this.#options.tls.offered) return step([REPLY_AUTHORIZATION_FIRST]);
    if (argument !== "") return step([REPLY_SYNTAX]);
    this.#phase = "starttls";
    return step([REPLY_TLS_READY], { effects: [{ kind: "starttls" }] });
  }

  /**
   * AUTH MECHANISM [initial-response] (RFC 5034 §4). Without a mechanism the
   * list of mechanisms, as pre-CAPA clients ask for it (RFC 1734 clients such
   * as Outlook send a bare AUTH).
   */
  #auth(argument: string): Pop3Step {
    const words = argument.split(" ").filter((word) => word !== "");
    const mechanisms = this.#mechanisms();
    if (words.length === 0) return step([REPLY_OK, ...mechanisms, "."]);
    if (words.length > 2) return step([REPLY_SYNTAX]);
    const mechanism = parseMechanismName(words[0]);
    if (mechanism === undefined || !mechanisms.includes(mechanism)) {
      const all = this.#tlsActive ? this.#options.mechanismsTls : this.#options.mechanisms;
      if (mechanism !== undefined && all.includes(mechanism)) {
        return step([REPLY_PLAINTEXT_REFUSED]);
      }
      return step([REPLY_AUTH_MECHANISM]);
    }
    this.#user = undefined;
    const { challenge, nonce } = this.#options.newChallenge();
    const sasl = new SaslServer(mechanism, {
      challenge,
      nonce,
      hostname: this.#options.hostname,
      service: "pop",
    });
    this.#sasl = sasl;
    this.#saslVerifying = false;
    this.#phase = "auth";
    return this.#saslStep(sasl.start(words[1]), 1);
  }

  #saslLine(line: string): Pop3Step {
    const sasl = this.#sasl!;
    if (this.#saslVerifying) throw new Error("A line arrived while AUTH was being verified");
    return this.#saslStep(sasl.receive(line), 1);
  }

  #saslStep(next: SaslStep, failures: number): Pop3Step {
    switch (next.kind) {
      case "challenge":
        // RFC 5034 §4: "+" SP base64; an empty challenge is "+ ".
        return step([`+ ${next.data}`]);
      case "verify":
        this.#saslVerifying = true;
        return step([], { effects: [{ kind: "auth", credentials: next.credentials }] });
      case "success":
        return this.#authenticated(next.user);
      case "failure":
        switch (next.reason) {
          case "cancelled":
            return this.#saslEnd(REPLY_AUTH_CANCELLED);
          case "malformed":
            return this.#saslEnd(REPLY_AUTH_MALFORMED);
          case "temporary":
            return this.#close([REPLY_AUTH_TEMPORARY]);
          case "rejected":
            return this.#loginFailed(failures);
        }
    }
  }

  /** An AUTH exchange that checked no credentials ends; the client may try again. */
  #saslEnd(reply: string): Pop3Step {
    this.#sasl = undefined;
    this.#saslVerifying = false;
    this.#phase = "authorization";
    return step([reply]);
  }

  // --- TRANSACTION (qmail-pop3d) ---

  #transaction(verb: string, argument: string): Pop3Step {
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
      case "capa":
        return this.#capa();
      case "quit": {
        this.#phase = "committing";
        const deleted = this.#messages.filter((entry) => entry.deleted).map((e) => e.message);
        return step([], { effects: [{ kind: "commit", deleted }] });
      }
      default:
        return step([REPLY_UNIMPLEMENTED]);
    }
  }

  /**
   * STAT: seed 002's fix ("Return correct number of messages on POP3 STAT
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
   * seed 000's md13 "corrected rfc1460 support"). TOP, a preview, does not
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
