/**
 * The qmail-smtpd protocol core (qmail-formats.md §8), pure: no sockets, no
 * files, no clock. The role feeds it one command line at a time and gets back
 * a step: replies to write (each without CRLF), effects to run, and whether to
 * close. Message bodies never pass through here: on DATA the step carries a
 * `data` effect, the role streams the body through DataReader (data.ts) into
 * the queue and reports the outcome with dataFinished().
 *
 * Where qmd departs from vanilla qmail 1.03 it says so next to the code:
 * no open relay without control/rcpthosts (R20), routing characters in local
 * parts refused (R2–R13), HELO/EHLO need an argument (seed 000), NUL bytes in
 * command lines refused (P3), an empty recipient refused, HTTP verbs close the
 * connection (P7), an optional recipient limit, a command-line length limit.
 */
import { bytesToString, stringToBytes } from "../queue/envelope.ts";
import {
  asciiLowerCase,
  hasRoutingLocalPart,
  isBadMailFrom,
  isRcptAllowed,
  parseSmtpAddress,
  type RcptHostsLookup,
} from "./address.ts";
import { formatSmtpReceived } from "./received.ts";
import {
  formatAcceptedReply,
  formatQueueErrorReply,
  REPLY_BAD_MAIL_FROM,
  REPLY_BARE_LF,
  REPLY_FLUSHED,
  REPLY_GO_AHEAD,
  REPLY_HELP,
  REPLY_LINE_TOO_LONG,
  REPLY_MAIL_FIRST,
  REPLY_NEED_HOSTNAME,
  REPLY_NO_GATEWAY,
  REPLY_NUL_IN_COMMAND,
  REPLY_OK,
  REPLY_RCPT_FIRST,
  REPLY_SYNTAX,
  REPLY_TIMEOUT,
  REPLY_TOO_BIG,
  REPLY_TOO_MANY_HOPS,
  REPLY_TOO_MANY_RECIPIENTS,
  REPLY_UNIMPLEMENTED,
  REPLY_VRFY,
} from "./replies.ts";

export interface SmtpSessionOptions {
  /** control/smtpgreeting lines, else [me]. The first line names the host in HELO/EHLO/QUIT. */
  greeting: string[];
  /** LOCAL in the Received line: TCPLOCALHOST, else TCPLOCALIP, else `unknown`. */
  localHost: string;
  /** TCPREMOTEIP. */
  remoteIp: string;
  /** TCPREMOTEHOST (`unknown` when not known). */
  remoteHost: string;
  /** TCPREMOTEINFO. */
  remoteInfo?: string;
  /** RELAYCLIENT: undefined = not set; its value is appended to every recipient. */
  relayClient?: string;
  /** rcpthosts + morercpthosts lookup of a lower-case domain or `.suffix`; null = no control/rcpthosts. */
  rcptHosts: RcptHostsLookup;
  /** control/databytes or DATABYTES; 0 = unlimited. */
  databytes: number;
  /** control/badmailfrom entries (`addr` or `@domain`). */
  badMailFrom: string[];
  /** control/localiphost (default `me`), the name for `[d.d.d.d]` literals of this host. */
  localIpHost?: string;
  /** This host's IPv4 addresses, for the `[d.d.d.d]` rewrite (§8.4). */
  localIps?: string[];
  /** Most recipients per message; undefined = unlimited (vanilla qmail has no limit). */
  maxRecipients?: number;
}

/** Accept a message: stream the body, then call dataFinished(). */
export interface SmtpDataEffect {
  kind: "data";
  /** MAIL FROM address, exact bytes (empty for `<>`). */
  sender: Uint8Array;
  /** RCPT TO addresses, exact bytes, RELAYCLIENT already appended. */
  recipients: Uint8Array[];
  /** qmail-smtpd's Received line (two lines, each LF-terminated), to write before the body. */
  received: string;
}

export type SmtpEffect = SmtpDataEffect;

export interface SmtpStep {
  /** Reply lines without CRLF; a multi-line reply is several strings. */
  replies: string[];
  effects: SmtpEffect[];
  /** Close the connection after writing the replies. */
  close: boolean;
}

/** How the DATA section ended, as the role saw it. */
export type DataOutcome =
  /** Committed to the queue: TIME is Unix seconds, QP the queue writer's pid. */
  | { kind: "queued"; time: number; qp: string }
  /** 100 or more Received/Delivered header lines. */
  | { kind: "hops" }
  /** More than databytes. */
  | { kind: "toobig" }
  /** A bare LF: 451 and disconnect. */
  | { kind: "barelf" }
  /** The queue failed: qmail_close text starting with D (permanent) or Z (temporary). */
  | { kind: "queue-error"; text: string };

interface Transaction {
  /** MAIL FROM, one char per byte. */
  sender: string;
  /** The sender is in badmailfrom: every RCPT gets 553 (§8.6). */
  badMailFrom: boolean;
  recipients: string[];
}

type SessionState =
  /** Before greet(). */
  | { phase: "connected" }
  /** Reading commands; `helo` is the last HELO/EHLO argument. */
  | { phase: "command"; helo: string | undefined; transaction: Transaction | undefined }
  /** 354 sent; the role is streaming the body and owes dataFinished(). */
  | { phase: "data"; helo: string | undefined }
  | { phase: "closed" };

/**
 * Verbs that reveal an HTTP client (a browser or proxy aimed at port 25,
 * reliability catalogue P7). qmd answers 502 like any unknown verb and then
 * closes, so nothing else in the request is read as SMTP; vanilla qmail would
 * keep reading.
 */
const HTTP_VERBS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace"]);

/** What every call answers once the session is closed. */
function closedStep(): SmtpStep {
  return { replies: [], effects: [], close: true };
}

/** A string as its bytes, one char per byte (UTF-8 when it has chars above 255). */
function byteString(text: string): string {
  return bytesToString(stringToBytes(text));
}

function step(replies: string[], close = false, effects: SmtpEffect[] = []): SmtpStep {
  return { replies, effects, close };
}

export class SmtpSession {
  readonly #options: SmtpSessionOptions;
  #state: SessionState = { phase: "connected" };

  constructor(options: SmtpSessionOptions) {
    if (options.greeting.length === 0) throw new Error("The SMTP greeting needs at least one line");
    // Everything that ends up inside an address is kept one char per byte.
    this.#options = {
      ...options,
      relayClient: options.relayClient === undefined ? undefined : byteString(options.relayClient),
      localIpHost: options.localIpHost === undefined ? undefined : byteString(options.localIpHost),
      badMailFrom: options.badMailFrom.map(byteString),
    };
  }

  /** The current phase, for logs and tests. */
  get phase(): SessionState["phase"] {
    return this.#state.phase;
  }

  /**
   * `220 GREETING ESMTP`. A multi-line smtpgreeting (qmail-md patch, seed 000)
   * is sent as `220-line`… with ` ESMTP` after the last line, where vanilla
   * qmail puts it after its only line.
   */
  greet(): SmtpStep {
    if (this.#state.phase !== "connected") throw new Error("The SMTP session was already greeted");
    this.#state = { phase: "command", helo: undefined, transaction: undefined };
    const lines = this.#options.greeting;
    const replies = lines.map((line, i) =>
      i === lines.length - 1 ? `220 ${line} ESMTP` : `220-${line}`
    );
    return step(replies);
  }

  /**
   * One command line without its LF; one trailing CR is removed here (§8.2).
   * `now` dates the Received line if this is an accepted DATA.
   */
  receiveLine(line: Uint8Array, now: Date): SmtpStep {
    const state = this.#state;
    if (state.phase === "closed") return closedStep();
    if (state.phase !== "command") {
      throw new Error(`A command line arrived in the ${state.phase} phase`);
    }
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    const bytes = line.subarray(0, end);
    if (bytes.includes(0)) return step([REPLY_NUL_IN_COMMAND]);

    const text = bytesToString(bytes);
    const space = text.indexOf(" ");
    const verb = asciiLowerCase(space < 0 ? text : text.slice(0, space));
    const argument = space < 0 ? "" : text.slice(space).replace(/^ +/, "");

    switch (verb) {
      case "helo":
        return this.#helo(state, argument, false);
      case "ehlo":
        return this.#helo(state, argument, true);
      case "mail":
        return this.#mail(state, argument);
      case "rcpt":
        return this.#rcpt(state, argument);
      case "data":
        return this.#data(state, now);
      case "rset":
        state.transaction = undefined;
        return step([REPLY_FLUSHED]);
      case "noop":
        return step([REPLY_OK]);
      case "vrfy":
        return step([REPLY_VRFY]);
      case "help":
        return step([REPLY_HELP]);
      case "quit":
        this.#state = { phase: "closed" };
        return step([`221 ${this.#options.greeting[0]}`], true);
      default:
        if (HTTP_VERBS.has(verb)) {
          this.#state = { phase: "closed" };
          return step([REPLY_UNIMPLEMENTED], true);
        }
        return step([REPLY_UNIMPLEMENTED]);
    }
  }

  /**
   * The role's reader cut a command line at its limit (qmail has none) and
   * discards the rest of that line up to its LF; the session goes on.
   */
  lineTooLong(): SmtpStep {
    const state = this.#state;
    if (state.phase === "closed") return closedStep();
    if (state.phase !== "command") {
      throw new Error(`A command line arrived in the ${state.phase} phase`);
    }
    return step([REPLY_LINE_TOO_LONG]);
  }

  /** The DATA section ended; replies in qmail's order of checks (§8.3). */
  dataFinished(outcome: DataOutcome): SmtpStep {
    const state = this.#state;
    if (state.phase !== "data") throw new Error(`DATA finished in the ${state.phase} phase`);
    // A finished DATA always needs a new MAIL (qmail clears seenmail at DATA).
    this.#state = { phase: "command", helo: state.helo, transaction: undefined };
    switch (outcome.kind) {
      case "queued":
        return step([formatAcceptedReply(outcome.time, outcome.qp)]);
      case "hops":
        return step([REPLY_TOO_MANY_HOPS]);
      case "toobig":
        return step([REPLY_TOO_BIG]);
      case "barelf":
        this.#state = { phase: "closed" };
        return step([REPLY_BARE_LF], true);
      case "queue-error":
        return step([formatQueueErrorReply(outcome.text)]);
    }
  }

  /** A read timed out (control/timeoutsmtpd): `451 timeout (#4.4.2)` and close (§8.8). */
  timeout(): SmtpStep {
    if (this.#state.phase === "closed") return closedStep();
    this.#state = { phase: "closed" };
    return step([REPLY_TIMEOUT], true);
  }

  /**
   * HELO/EHLO: reply with the first greeting line and forget any MAIL.
   * Departure (qmail-md, seed 000): an argument is required; a refused HELO
   * changes nothing.
   */
  #helo(state: SessionState & { phase: "command" }, argument: string, extended: boolean): SmtpStep {
    if (argument === "") return step([REPLY_NEED_HOSTNAME]);
    state.helo = argument;
    state.transaction = undefined;
    const name = this.#options.greeting[0];
    return step(extended ? [`250-${name}`, "250-PIPELINING", "250 8BITMIME"] : [`250 ${name}`]);
  }

  /** MAIL starts a new transaction; a syntax error leaves the old one in place, as in qmail. */
  #mail(state: SessionState & { phase: "command" }, argument: string): SmtpStep {
    const sender = parseSmtpAddress(argument, this.#options);
    if (sender === null) return step([REPLY_SYNTAX]);
    state.transaction = {
      sender,
      badMailFrom: isBadMailFrom(sender, this.#options.badMailFrom),
      recipients: [],
    };
    return step([REPLY_OK]);
  }

  #rcpt(state: SessionState & { phase: "command" }, argument: string): SmtpStep {
    const transaction = state.transaction;
    if (transaction === undefined) return step([REPLY_MAIL_FIRST]);
    let recipient = parseSmtpAddress(argument, this.#options);
    // Departure: qmail accepts an empty recipient (`RCPT TO:<>`) and later
    // appends envnoathost to nothing; no mail can be meant for it.
    if (recipient === null || recipient === "") return step([REPLY_SYNTAX]);
    if (transaction.badMailFrom) return step([REPLY_BAD_MAIL_FROM]);
    const relayClient = this.#options.relayClient;
    if (relayClient !== undefined) {
      recipient += relayClient;
    } else if (
      hasRoutingLocalPart(recipient) || !isRcptAllowed(recipient, this.#options.rcptHosts)
    ) {
      return step([REPLY_NO_GATEWAY]);
    }
    const limit = this.#options.maxRecipients;
    if (limit !== undefined && transaction.recipients.length >= limit) {
      return step([REPLY_TOO_MANY_RECIPIENTS]);
    }
    transaction.recipients.push(recipient);
    return step([REPLY_OK]);
  }

  #data(state: SessionState & { phase: "command" }, now: Date): SmtpStep {
    const transaction = state.transaction;
    if (transaction === undefined) return step([REPLY_MAIL_FIRST]);
    if (transaction.recipients.length === 0) return step([REPLY_RCPT_FIRST]);
    const options = this.#options;
    const received = formatSmtpReceived({
      remoteHost: options.remoteHost,
      helo: state.helo,
      remoteInfo: options.remoteInfo,
      remoteIp: options.remoteIp,
      localHost: options.localHost,
    }, now);
    this.#state = { phase: "data", helo: state.helo };
    return step([REPLY_GO_AHEAD], false, [{
      kind: "data",
      sender: stringToBytes(transaction.sender),
      recipients: transaction.recipients.map(stringToBytes),
      received,
    }]);
  }
}
