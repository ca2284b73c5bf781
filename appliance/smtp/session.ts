/**
 * The qmail-smtpd protocol core (qmail-formats.md §8) with the seed patches'
 * ESMTP (seed 000 qmail-md, seed 001 aio), pure: no sockets, no files, no
 * clock. The role feeds it one command line at a time and gets back a step:
 * replies to write (each without CRLF), how long to pause before writing
 * them (tarpits and delays), effects to run, and whether to close. Message
 * bodies never pass through here: on DATA the step carries a `data` effect,
 * the role streams the body through DataReader (data.ts) into the queue and
 * reports the outcome with dataFinished(). STARTTLS and AUTH verification are
 * effects too; the role reports back with tlsStarted() and authVerified().
 *
 * Where qmd departs from vanilla qmail 1.03 it says so next to the code:
 * no open relay without control/rcpthosts (R20), routing characters in local
 * parts refused (R2–R13), HELO/EHLO need an argument (seed 000), NUL bytes in
 * command lines refused (P3), an empty recipient refused, HTTP verbs close the
 * connection (P7), recipient and command-line limits.
 */
import { bytesToString, stringToBytes } from "../bytes.ts";
import {
  asciiLowerCase,
  hasRoutingLocalPart,
  isBadMailFrom,
  isRcptAllowed,
  parseSmtpAddress,
  type RcptHostsLookup,
} from "./mail_rcpt_address.ts";
import { formatSmtpReceived } from "./received.ts";
import { formatRejection, isRefusal, type RefusedCommand } from "./rejection.ts";
import { type DataOutcome, type SmtpStep, step } from "./session_step.ts";
import type { BatvCheck } from "../send/batv.ts";
import { type MechanismName, parseMechanismName } from "../auth/mechanisms.ts";
import { SaslServer, type SaslStep, type VerifyResult } from "../auth/sasl_server.ts";
import {
  formatAcceptedReply,
  formatQueueErrorReply,
  REPLY_AUTH_BLOCKED,
  REPLY_AUTH_CANCELLED,
  REPLY_AUTH_DECODE,
  REPLY_AUTH_FAILED,
  REPLY_AUTH_IN_TRANSACTION,
  REPLY_AUTH_MECHANISM,
  REPLY_AUTH_NEEDS_TLS,
  REPLY_AUTH_OK,
  REPLY_AUTH_REQUIRED,
  REPLY_AUTH_SYNTAX,
  REPLY_AUTH_TEMPORARY,
  REPLY_AUTH_TWICE,
  REPLY_BAD_MAIL_FROM,
  REPLY_BARE_LF,
  REPLY_BATV_INVALID,
  REPLY_BATV_UNSIGNED,
  REPLY_BREAK_RULES,
  REPLY_FLUSHED,
  REPLY_GO_AHEAD,
  REPLY_HELP,
  REPLY_LINE_TOO_LONG,
  REPLY_MAIL_FIRST,
  REPLY_MAIL_OK,
  REPLY_NEED_HOSTNAME,
  REPLY_NO_GATEWAY,
  REPLY_NUL_IN_COMMAND,
  REPLY_OK,
  REPLY_RCPT_OK,
  REPLY_SIZE_TOO_BIG,
  REPLY_SYNTAX,
  REPLY_TIMEOUT,
  REPLY_TLS_ACTIVE,
  REPLY_TLS_READY,
  REPLY_TLS_SYNTAX,
  REPLY_TOO_BIG,
  REPLY_TOO_MANY_HOPS,
  REPLY_TOO_MANY_RECIPIENTS,
  REPLY_UNIMPLEMENTED,
  REPLY_VRFY,
} from "./replies.ts";

// The step types live beside the session; importers may keep taking them from here.
export type {
  DataOutcome,
  SmtpAuthEffect,
  SmtpDataEffect,
  SmtpEffect,
  SmtpLogEffect,
  SmtpStartTlsEffect,
  SmtpStep,
} from "./session_step.ts";

/** SMTP AUTH for this connection (seed 000 README.auth, seed 001 secauth*). */
export interface SmtpAuthOptions {
  /** Mechanisms before TLS (control/auth/smtp, default 60). */
  plainMechanisms: MechanismName[];
  /** Mechanisms once TLS is active (control/auth/smtps, default 63). */
  tlsMechanisms: MechanismName[];
  /** control/auth/oldauth > 0: also advertise `AUTH=LOGIN` for old Microsoft clients. */
  oldAuth: boolean;
  /** secauthext/secauthint: AUTH only once TLS is active. */
  requireTls: boolean;
  /** Seconds to pause after a failed AUTH (control/auth/delay, authfaildelay). */
  failDelaySeconds: number;
  /** Submission (RFC 6409): MAIL needs a successful AUTH first. */
  required: boolean;
  /** Host name for CRAM challenges and the DIGEST-MD5 realm. */
  hostname: string;
  /** A fresh CRAM challenge (`<pid.time@host>`) and DIGEST-MD5 nonce for each attempt. */
  newChallenge: () => { challenge: string; nonce: string };
  /** The growing pause after the Nth recent failure from this IP. */
  failureDelay?: (failures: number, baseSeconds: number) => number;
}

/** Pauses (seconds) the aio and qmail-md patches put into a session. */
export interface SmtpDelays {
  /** greetdelay: before the 220 (the role applies it, with databeforegreet). */
  greet: number;
  helo: number;
  mail: number;
  rcpt: number;
}

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
  /** databytesmf (seed 001): a limit chosen by the sender address, overriding databytes. */
  databytesForSender?: (address: string) => number | undefined;
  /** databytesrcpt (seed 001): a limit chosen by a recipient, overriding the rest. */
  databytesForRecipient?: (address: string) => number | undefined;
  /** control/badmailfrom entries (`addr` or `@domain`). */
  badMailFrom: string[];
  /** control/localiphost (default `me`), the name for `[d.d.d.d]` literals of this host. */
  localIpHost?: string;
  /** This host's IPv4 addresses, for the `[d.d.d.d]` rewrite (§8.4). */
  localIps?: string[];
  /** maxrecipients (seed 001): recipients per message for every client. */
  maxRecipients?: number;
  /** maxrcpt (seed 000): recipients per message for clients without RELAYCLIENT or AUTH. */
  maxUnauthRecipients?: number;
  /** maxaddrlen (seed 000): longest address; default 899 as qmail. */
  maxAddressLength?: number;
  /** maxhops (seed 000): Received/Delivered lines that mean a loop; default 100. */
  maxHops?: number;
  /** tarpitcount/tarpitdelay (seeds 000, 001): pause each RCPT after `count`; count 0 = off. */
  tarpit?: { count: number; delaySeconds: number };
  delays?: SmtpDelays;
  /** STARTTLS: offered (a certificate and tlssmtpext/int allow it); active (SMTPS). */
  tls?: { offered: boolean; active: boolean };
  /** SMTP AUTH; undefined = no credentials source, so no AUTH. */
  auth?: SmtpAuthOptions;
  /**
   * BATV (seed 001): with a signkey, bounces (MAIL FROM:<>) are accepted only
   * for addresses this host signed; a signed recipient is delivered without
   * its tag. `exempt` names recipients and clients the check skips.
   */
  batv?: {
    check: (address: string) => BatvCheck;
    exempt: (recipient: string, helo: string | undefined) => boolean;
  };
  /** BLACKLISTED (seed 000): every recipient becomes this address; databytes+ limits the size. */
  blacklisted?: { recipient: string; databytes: number };
}

interface Transaction {
  /** MAIL FROM, one char per byte. */
  sender: string;
  /** The sender is in badmailfrom: every RCPT gets 553 (§8.6). */
  badMailFrom: boolean;
  recipients: string[];
  /** RCPT commands seen, accepted or not (for the tarpit). */
  rcptCount: number;
}

/** What survives from one command to the next. */
interface Conversation {
  /** The last HELO/EHLO argument. */
  helo: string | undefined;
  transaction: Transaction | undefined;
}

type SessionState =
  /** Before greet(). */
  | { phase: "connected" }
  /** Reading commands. */
  | { phase: "command"; conversation: Conversation }
  /** 354 sent; the role is streaming the body and owes dataFinished(). */
  | { phase: "data"; conversation: Conversation }
  /** 220 for STARTTLS sent; the role owes tlsStarted(). */
  | { phase: "starttls" }
  /** An AUTH exchange: client lines go to the SASL mechanism. */
  | { phase: "auth"; conversation: Conversation; sasl: SaslServer; verifying: boolean }
  | { phase: "closed" };

/**
 * Verbs that reveal an HTTP client (a browser or proxy aimed at port 25,
 * reliability catalogue P7). qmd answers 502 like any unknown verb and then
 * closes, so nothing else in the request is read as SMTP; vanilla qmail would
 * keep reading.
 */
const HTTP_VERBS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace"]);

/** qmail-smtpd's MAXHOPS. */
const DEFAULT_MAX_HOPS = 100;

/** A string as its bytes, one char per byte (UTF-8 when it has chars above 255). */
function byteString(text: string): string {
  return bytesToString(stringToBytes(text));
}

/** `SIZE=n` among MAIL FROM's parameters (RFC 1870 §6); undefined when absent or malformed. */
function parseSizeParameter(argument: string): number | undefined {
  const close = argument.indexOf(">");
  const parameters = close >= 0 ? argument.slice(close + 1) : "";
  for (const word of parameters.split(" ")) {
    const match = /^size=(\d{1,15})$/i.exec(word);
    if (match !== null) return Number(match[1]);
  }
  return undefined;
}

export class SmtpSession {
  readonly #options: SmtpSessionOptions;
  #state: SessionState = { phase: "connected" };
  #tlsActive: boolean;
  #tlsRelay = false;
  /** The AUTH user once authenticated. */
  #authUser: string | undefined;
  #quit = false;

  constructor(options: SmtpSessionOptions) {
    if (options.greeting.length === 0) throw new Error("The SMTP greeting needs at least one line");
    // Everything that ends up inside an address is kept one char per byte.
    this.#options = {
      ...options,
      relayClient: options.relayClient === undefined ? undefined : byteString(options.relayClient),
      localIpHost: options.localIpHost === undefined ? undefined : byteString(options.localIpHost),
      badMailFrom: options.badMailFrom.map(byteString),
    };
    this.#tlsActive = options.tls?.active ?? false;
  }

  /** The current phase, for logs and tests. */
  get phase(): SessionState["phase"] {
    return this.#state.phase;
  }

  /** The authenticated user, if any. */
  get authUser(): string | undefined {
    return this.#authUser;
  }

  get tlsActive(): boolean {
    return this.#tlsActive;
  }

  /** Whether the session ended with the client's QUIT (qmail-smtpd exits 0 only then). */
  get quit(): boolean {
    return this.#quit;
  }

  /**
   * `220 GREETING ESMTP`. A multi-line smtpgreeting (qmail-md patch, seed 000)
   * is sent as `220-line`… with ` ESMTP` after the last line, where vanilla
   * qmail puts it after its only line.
   */
  greet(): SmtpStep {
    if (this.#state.phase !== "connected") throw new Error("The SMTP session was already greeted");
    this.#state = { phase: "command", conversation: { helo: undefined, transaction: undefined } };
    const lines = this.#options.greeting;
    const replies = lines.map((line, i) =>
      i === lines.length - 1 ? `220 ${line} ESMTP` : `220-${line}`
    );
    return step(replies);
  }

  /**
   * One line without its LF; one trailing CR is removed here (§8.2).
   * `now` dates the Received line if this is an accepted DATA.
   */
  receiveLine(line: Uint8Array, now: Date): SmtpStep {
    const state = this.#state;
    if (state.phase === "closed") return step([], { close: true });
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    const bytes = line.subarray(0, end);
    if (state.phase === "auth") {
      return this.#authLogged(state, this.#authLine(state, bytesToString(bytes)));
    }
    if (state.phase !== "command") {
      throw new Error(`A command line arrived in the ${state.phase} phase`);
    }
    if (bytes.includes(0)) return step([REPLY_NUL_IN_COMMAND]);

    const text = bytesToString(bytes);
    const space = text.indexOf(" ");
    const verb = asciiLowerCase(space < 0 ? text : text.slice(0, space));
    const argument = space < 0 ? "" : text.slice(space).replace(/^ +/, "");
    const conversation = state.conversation;

    switch (verb) {
      case "helo":
        return this.#helo(conversation, argument, false);
      case "ehlo":
        return this.#helo(conversation, argument, true);
      case "mail":
        return this.#logged(this.#mail(conversation, argument), "MAIL", conversation.helo, () => ({
          sender: this.#attemptedAddress(argument),
        }));
      case "rcpt":
        return this.#logged(this.#rcpt(conversation, argument), "RCPT", conversation.helo, () => ({
          sender: conversation.transaction?.sender,
          recipients: [this.#attemptedAddress(argument)],
        }));
      case "data":
        return this.#logged(this.#data(conversation, now), "DATA", conversation.helo, () => ({
          sender: conversation.transaction?.sender,
          recipients: conversation.transaction?.recipients,
        }));
      case "starttls":
        return this.#startTls(argument);
      case "auth":
        return this.#logged(this.#auth(conversation, argument), "AUTH", conversation.helo, () => ({
          mechanism: argument.split(" ").find((word) => word !== ""),
        }));
      case "rset":
        conversation.transaction = undefined;
        return step([REPLY_FLUSHED]);
      case "noop":
        return step([REPLY_OK]);
      case "vrfy":
        return step([REPLY_VRFY]);
      case "help":
        return step([REPLY_HELP]);
      case "quit":
        this.#state = { phase: "closed" };
        this.#quit = true;
        return step([`221 2.0.0 ${this.#options.greeting[0]}`], { close: true });
      default:
        if (HTTP_VERBS.has(verb)) {
          this.#state = { phase: "closed" };
          return step([REPLY_UNIMPLEMENTED], { close: true });
        }
        return step([REPLY_UNIMPLEMENTED]);
    }
  }

  /**
   * The role's reader cut a command line at maxcmdlen (qmail has none) and
   * discards the rest of that line up to its LF; the client is tarpitted
   * (seed 000) and the session goes on.
   */
  lineTooLong(): SmtpStep {
    const state = this.#state;
    if (state.phase === "closed") return step([], { close: true });
    if (state.phase === "auth") {
      return this.#authLogged(state, this.#authEnd(state, REPLY_AUTH_DECODE));
    }
    if (state.phase !== "command") {
      throw new Error(`A command line arrived in the ${state.phase} phase`);
    }
    return this.#tarpitted([REPLY_LINE_TOO_LONG], "command line too long");
  }

  /** The DATA section ended; replies in qmail's order of checks (§8.3). */
  dataFinished(outcome: DataOutcome): SmtpStep {
    const state = this.#state;
    if (state.phase !== "data") throw new Error(`DATA finished in the ${state.phase} phase`);
    const { helo, transaction } = state.conversation;
    // A finished DATA always needs a new MAIL (qmail clears seenmail at DATA).
    this.#state = { phase: "command", conversation: { helo, transaction: undefined } };
    return this.#logged(this.#dataOutcome(outcome), "END-OF-MESSAGE", helo, () => ({
      sender: transaction?.sender,
      recipients: transaction?.recipients,
    }));
  }

  #dataOutcome(outcome: DataOutcome): SmtpStep {
    switch (outcome.kind) {
      case "queued":
        return step([formatAcceptedReply(outcome.time, outcome.qp)]);
      case "hops":
        return step([REPLY_TOO_MANY_HOPS]);
      case "toobig":
        return step([REPLY_TOO_BIG]);
      case "barelf":
        this.#state = { phase: "closed" };
        return step([REPLY_BARE_LF], { close: true });
      case "queue-error":
        return step([formatQueueErrorReply(outcome.text)]);
    }
  }

  /**
   * The TLS handshake after STARTTLS succeeded. RFC 3207 §4.2: the session
   * starts over, discarding all it learnt from the client before TLS: HELO,
   * any transaction and a successful AUTH (so relaying needs a new AUTH).
   * `relay` is true when the client's certificate is one of
   * control/tlsclients (seed 001).
   */
  tlsStarted(relay = false): SmtpStep {
    if (this.#state.phase !== "starttls") {
      throw new Error(`TLS started in the ${this.#state.phase} phase`);
    }
    this.#tlsActive = true;
    this.#tlsRelay = relay;
    this.#authUser = undefined;
    this.#state = { phase: "command", conversation: { helo: undefined, transaction: undefined } };
    return step([]);
  }

  /**
   * The answer to an `auth` effect. `recentFailures` counts the recent
   * failures of this IP or of this name at it, this one included (for the
   * pause); `blocked` means one of them is blocked: 421 and close.
   */
  authVerified(result: VerifyResult, recentFailures = 1, blocked = false): SmtpStep {
    const state = this.#state;
    if (state.phase !== "auth" || !state.verifying) {
      throw new Error(`An AUTH result arrived in the ${state.phase} phase`);
    }
    state.verifying = false;
    if (blocked) {
      this.#state = { phase: "closed" };
      return this.#authLogged(state, step([REPLY_AUTH_BLOCKED], { close: true }));
    }
    return this.#authLogged(
      state,
      this.#saslStep(state, state.sasl.verified(result), recentFailures),
    );
  }

  /** A read timed out (control/timeoutsmtpd): `451 4.4.2 timeout` and close (§8.8). */
  timeout(): SmtpStep {
    if (this.#state.phase === "closed") return step([], { close: true });
    this.#state = { phase: "closed" };
    return step([REPLY_TIMEOUT], { close: true });
  }

  /**
   * Adds the `reject` log line (rejection.ts) when the step's reply refuses
   * the command; `envelope` is asked for what to log only then.
   */
  #logged(
    result: SmtpStep,
    command: RefusedCommand,
    helo: string | undefined,
    envelope: () => { sender?: string; recipients?: string[]; mechanism?: string },
  ): SmtpStep {
    const reply = result.replies.at(-1);
    if (reply === undefined || !isRefusal(reply)) return result;
    const { sender, recipients, mechanism } = envelope();
    const rejection = formatRejection({
      command,
      mechanism,
      remoteIp: this.#options.remoteIp,
      helo,
      sender,
      recipients: recipients ?? [],
      reply,
    });
    return { ...result, effects: [...result.effects, rejection] };
  }

  /** #logged for a step of an AUTH exchange. */
  #authLogged(state: SessionState & { phase: "auth" }, result: SmtpStep): SmtpStep {
    return this.#logged(result, "AUTH", state.conversation.helo, () => ({
      mechanism: state.sasl.mechanism,
    }));
  }

  /** The address a MAIL or RCPT names, for the log: as parsed, else as the client wrote it. */
  #attemptedAddress(argument: string): string {
    return parseSmtpAddress(argument, this.#addressOptions()) ?? argument;
  }

  /** RELAYCLIENT, a successful AUTH or a tlsclients certificate (qmail-smtpd's relayclient). */
  #relaying(): boolean {
    return this.#options.relayClient !== undefined || this.#authUser !== undefined ||
      this.#tlsRelay;
  }

  /**
   * A pause of tarpitdelay and a `tarpit` log line (seed 000 control/log/tarpitting),
   * when tarpitting is on (tarpitcount > 0 and no NO_TARPITTING).
   */
  #tarpitted(replies: string[], why: string, close = false): SmtpStep {
    const tarpit = this.#options.tarpit;
    const delay = tarpit === undefined || tarpit.count <= 0 ? 0 : tarpit.delaySeconds;
    return step(replies, {
      close,
      delay,
      effects: delay > 0 ? [{ kind: "log", event: "tarpit", text: `TARPIT: ${why}` }] : [],
    });
  }

  #mechanisms(): MechanismName[] {
    const auth = this.#options.auth;
    if (auth === undefined) return [];
    if (auth.requireTls && !this.#tlsActive) return [];
    return this.#tlsActive ? auth.tlsMechanisms : auth.plainMechanisms;
  }

  /** The SIZE limit for EHLO; undefined when databytesmf/databytesrcpt make it per message (seed 001). */
  #advertisedSize(): number | undefined {
    const options = this.#options;
    if (options.databytesForSender !== undefined || options.databytesForRecipient !== undefined) {
      return undefined;
    }
    return options.databytes;
  }

  /**
   * HELO/EHLO: reply with the first greeting line and forget any MAIL.
   * Departure (qmail-md, seed 000): an argument is required; a refused HELO
   * changes nothing. EHLO lists the extensions in qmail-md's order.
   */
  #helo(conversation: Conversation, argument: string, extended: boolean): SmtpStep {
    if (argument === "") return step([REPLY_NEED_HOSTNAME]);
    conversation.helo = argument;
    conversation.transaction = undefined;
    const name = this.#options.greeting[0];
    const delay = this.#options.delays?.helo ?? 0;
    if (!extended) return step([`250 ${name}`], { delay });
    const lines = [name];
    const mechanisms = this.#mechanisms();
    if (mechanisms.length > 0) {
      if (this.#options.auth?.oldAuth && mechanisms.includes("LOGIN")) lines.push("AUTH=LOGIN");
      lines.push(`AUTH ${mechanisms.join(" ")}`);
    }
    lines.push("ENHANCEDSTATUSCODES", "PIPELINING");
    if (this.#options.tls?.offered && !this.#tlsActive) lines.push("STARTTLS");
    const size = this.#advertisedSize();
    // RFC 1870 §4: SIZE without a number means no fixed limit (seed 000 dropped "SIZE 0").
    if (size !== undefined) lines.push(size > 0 ? `SIZE ${size}` : "SIZE");
    lines.push("8BITMIME");
    return step(lines.map((line, i) => `250${i === lines.length - 1 ? " " : "-"}${line}`), {
      delay,
    });
  }

  #addressOptions() {
    return {
      localIpHost: this.#options.localIpHost,
      localIps: this.#options.localIps,
      maxAddressLength: this.#options.maxAddressLength,
    };
  }

  /** MAIL starts a new transaction; a syntax error leaves the old one in place, as in qmail. */
  #mail(conversation: Conversation, argument: string): SmtpStep {
    const options = this.#options;
    if (options.auth?.required && this.#authUser === undefined) {
      return step([REPLY_AUTH_REQUIRED]);
    }
    const sender = parseSmtpAddress(argument, this.#addressOptions());
    if (sender === null) return this.#tarpitted([REPLY_SYNTAX], "address too long or malformed");
    const declared = parseSizeParameter(argument);
    const limit = this.#messageLimit(sender, []);
    if (declared !== undefined && limit > 0 && declared > limit) {
      return step([REPLY_SIZE_TOO_BIG]);
    }
    conversation.transaction = {
      sender,
      badMailFrom: isBadMailFrom(sender, options.badMailFrom),
      recipients: [],
      rcptCount: 0,
    };
    return step([REPLY_MAIL_OK], { delay: options.delays?.mail ?? 0 });
  }

  #rcpt(conversation: Conversation, argument: string): SmtpStep {
    const transaction = conversation.transaction;
    if (transaction === undefined) return step([REPLY_MAIL_FIRST]);
    const options = this.#options;
    transaction.rcptCount++;
    let recipient = parseSmtpAddress(argument, this.#addressOptions());
    // Departure: qmail accepts an empty recipient (`RCPT TO:<>`) and later
    // appends envnoathost to nothing; no mail can be meant for it.
    if (recipient === null || recipient === "") {
      return this.#tarpitted([REPLY_SYNTAX], "address too long or malformed");
    }
    if (transaction.badMailFrom) return step([REPLY_BAD_MAIL_FROM]);
    const batv = options.batv;
    if (batv !== undefined) {
      const checked = batv.check(recipient);
      if (checked.signed && checked.ok) {
        recipient = checked.original;
      } else if (transaction.sender === "" && !batv.exempt(recipient, conversation.helo)) {
        return step([checked.signed ? REPLY_BATV_INVALID : REPLY_BATV_UNSIGNED]);
      }
    }
    const relayClient = options.relayClient;
    if (relayClient !== undefined) {
      recipient += relayClient;
    } else if (this.#relaying()) {
      // AUTH or a tlsclients certificate relays like RELAYCLIENT="".
    } else if (
      hasRoutingLocalPart(recipient) || !isRcptAllowed(recipient, options.rcptHosts)
    ) {
      return step([REPLY_NO_GATEWAY], {
        effects: [{
          kind: "log",
          event: "relay-refused",
          text: `relay refused: <${transaction.sender}> to <${recipient}>`,
        }],
      });
    }
    const limits = [options.maxRecipients];
    if (!this.#relaying()) limits.push(options.maxUnauthRecipients);
    for (const limit of limits) {
      if (limit !== undefined && limit > 0 && transaction.recipients.length >= limit) {
        return this.#tarpitted([REPLY_TOO_MANY_RECIPIENTS], "too many recipients");
      }
    }
    transaction.recipients.push(recipient);
    const tarpit = options.tarpit;
    if (tarpit !== undefined && tarpit.count > 0 && transaction.rcptCount > tarpit.count) {
      return this.#tarpitted(
        [REPLY_RCPT_OK],
        `<${transaction.sender}> to <${recipient}> | rcpt ${transaction.rcptCount}`,
      );
    }
    return step([REPLY_RCPT_OK], { delay: options.delays?.rcpt ?? 0 });
  }

  /** The size limit for a message: databytes, then databytesmf, then databytesrcpt (seed 001). */
  #messageLimit(sender: string, recipients: string[]): number {
    const options = this.#options;
    if (options.blacklisted !== undefined && this.#authUser === undefined) {
      return options.blacklisted.databytes;
    }
    let limit = options.databytes;
    const bySender = options.databytesForSender?.(sender);
    if (bySender !== undefined) limit = bySender;
    let byRecipient: number | undefined;
    for (const recipient of recipients) {
      const value = options.databytesForRecipient?.(recipient);
      if (value !== undefined && (byRecipient === undefined || value < byRecipient)) {
        byRecipient = value;
      }
    }
    return byRecipient ?? limit;
  }

  #data(conversation: Conversation, now: Date): SmtpStep {
    const transaction = conversation.transaction;
    if (transaction === undefined) return step([REPLY_MAIL_FIRST]);
    if (transaction.recipients.length === 0) {
      // qmail-md (seed 000): a client that sends DATA after every RCPT failed is not listening.
      this.#state = { phase: "closed" };
      return step([REPLY_BREAK_RULES], { close: true });
    }
    const options = this.#options;
    const received = formatSmtpReceived({
      remoteHost: options.remoteHost,
      helo: conversation.helo,
      remoteInfo: options.remoteInfo,
      remoteIp: options.remoteIp,
      localHost: options.localHost,
      protocol: this.#protocol(),
    }, now);
    const blacklisted = options.blacklisted !== undefined && this.#authUser === undefined
      ? options.blacklisted.recipient
      : undefined;
    const recipients = blacklisted === undefined ? transaction.recipients : [blacklisted];
    this.#state = { phase: "data", conversation };
    return step([REPLY_GO_AHEAD], {
      effects: [{
        kind: "data",
        sender: stringToBytes(transaction.sender),
        recipients: recipients.map(stringToBytes),
        received,
        databytes: this.#messageLimit(transaction.sender, transaction.recipients),
        maxHops: options.maxHops ?? DEFAULT_MAX_HOPS,
      }],
    });
  }

  /** RFC 3848 transmission types, as qmail-md writes them (seed 000 md21). */
  #protocol(): string {
    const authed = this.#authUser !== undefined;
    if (this.#tlsActive) return authed ? "ESMTPSA" : "ESMTPS";
    return authed ? "ESMTPA" : "SMTP";
  }

  /** STARTTLS (RFC 3207); unknown to a server without a certificate, as in qmail. */
  #startTls(argument: string): SmtpStep {
    if (!this.#options.tls?.offered && !this.#tlsActive) return step([REPLY_UNIMPLEMENTED]);
    if (this.#tlsActive) return step([REPLY_TLS_ACTIVE]);
    if (argument !== "") return step([REPLY_TLS_SYNTAX]);
    this.#state = { phase: "starttls" };
    return step([REPLY_TLS_READY], { effects: [{ kind: "starttls" }] });
  }

  /** AUTH MECHANISM [initial-response] (RFC 4954 §4). */
  #auth(conversation: Conversation, argument: string): SmtpStep {
    const auth = this.#options.auth;
    if (auth === undefined) return step([REPLY_UNIMPLEMENTED]);
    if (this.#authUser !== undefined) return step([REPLY_AUTH_TWICE]);
    if (conversation.transaction !== undefined) return step([REPLY_AUTH_IN_TRANSACTION]);
    const [name, initial, extra] = argument.split(" ").filter((word) => word !== "");
    if (name === undefined || extra !== undefined) return step([REPLY_AUTH_SYNTAX]);
    if (auth.requireTls && !this.#tlsActive) return step([REPLY_AUTH_NEEDS_TLS]);
    const mechanism = parseMechanismName(name);
    if (mechanism === undefined || !this.#mechanisms().includes(mechanism)) {
      return step([REPLY_AUTH_MECHANISM]);
    }
    const { challenge, nonce } = auth.newChallenge();
    const sasl = new SaslServer(mechanism, {
      challenge,
      nonce,
      hostname: auth.hostname,
      service: "smtp",
    });
    const state: SessionState & { phase: "auth" } = {
      phase: "auth",
      conversation,
      sasl,
      verifying: false,
    };
    this.#state = state;
    return this.#saslStep(state, sasl.start(initial), 0);
  }

  #authLine(state: SessionState & { phase: "auth" }, line: string): SmtpStep {
    if (state.verifying) throw new Error("A line arrived while AUTH was being verified");
    return this.#saslStep(state, state.sasl.receive(line), 0);
  }

  #saslStep(state: SessionState & { phase: "auth" }, next: SaslStep, failures: number): SmtpStep {
    switch (next.kind) {
      case "challenge":
        return step([`334 ${next.data}`]);
      case "verify":
        state.verifying = true;
        return step([], { effects: [{ kind: "auth", credentials: next.credentials }] });
      case "success":
        this.#authUser = next.user;
        this.#state = { phase: "command", conversation: state.conversation };
        // The role logs the user with the verification it ran.
        return step([REPLY_AUTH_OK]);
      case "failure":
        if (next.reason === "cancelled") return this.#authEnd(state, REPLY_AUTH_CANCELLED);
        if (next.reason === "malformed") return this.#authEnd(state, REPLY_AUTH_DECODE);
        if (next.reason === "temporary") return this.#authEnd(state, REPLY_AUTH_TEMPORARY);
        return this.#authFailed(state, failures);
    }
  }

  #authEnd(state: SessionState & { phase: "auth" }, reply: string): SmtpStep {
    this.#state = { phase: "command", conversation: state.conversation };
    return step([reply]);
  }

  /** 535 after control/auth/delay or authfaildelay, growing with this IP's recent failures. */
  #authFailed(state: SessionState & { phase: "auth" }, failures: number): SmtpStep {
    this.#state = { phase: "command", conversation: state.conversation };
    const auth = this.#options.auth!;
    const base = auth.failDelaySeconds;
    const delay = auth.failureDelay === undefined ? base : auth.failureDelay(failures, base);
    return step([REPLY_AUTH_FAILED], { delay });
  }
}
