/**
 * The qmail-smtpd protocol core (docs/queue-format.md §8) with the seed patches'
 * ESMTP (docs/patches.md seed 000 qmail-md, seed 001 aio), pure: no sockets, no files, no
 * clock. The role feeds it one command line at a time and gets back a step:
 * replies to write (each without CRLF), how long to pause before writing
 * them (tarpits and delays), effects to run, and whether to close. Message
 * bodies never pass through here: on DATA the step carries a `data` effect,
 * the role streams the body through DataReader (data.ts) into the queue and
 * reports the outcome with dataFinished(). STARTTLS and AUTH verification are
 * effects too; the role reports back with tlsStarted() and authVerified().
 *
 * This file holds the session's state and dispatches each verb to its
 * handler: HELO/EHLO in helo.ts, MAIL/RCPT/DATA in transaction.ts, AUTH in
 * auth_exchange.ts; STARTTLS and the verbs that only answer are here.
 *
 * Where qmd departs from vanilla qmail 1.03 it says so next to the code:
 * no open relay without control/rcpthosts (R20), routing characters in local
 * parts refused (R2–R13), HELO/EHLO need an argument (seed 000), NUL bytes in
 * command lines refused (P3), an empty recipient refused, HTTP verbs close the
 * connection (P7), recipient and command-line limits, SMTPUTF8 (smtputf8.ts).
 */
import { bytesToString, stringToBytes } from "../bytes.ts";
import type { VerifyResult } from "../auth/sasl_server.ts";
import { asciiLowerCase } from "./mail_rcpt_address.ts";
import { formatRejection, isRefusal, type RefusedCommand } from "./rejection.ts";
import {
  type DataOutcome,
  type ScanResult,
  type SmtpStep,
  step,
  tarpitStep,
} from "./session_step.ts";
import type { SmtpSessionOptions } from "./session_options.ts";
import type { Conversation, SessionView } from "./conversation.ts";
import { endOfDataStep, type TransactionStep } from "./transaction.ts";
import type { Decision, FilterPhase, FilterRequest, LookupAnswer } from "../filters/filter.ts";
import { FilterGate, filterRequest, type PendingChain, rblCommand } from "./session_filters.ts";
import { type CommandContext, dataStep, heloStep, mailStep, rcptStep } from "./session_commands.ts";
import { type AuthExchange, type AuthProgress, beginAuth } from "./auth_exchange.ts";
import {
  REPLY_AUTH_BLOCKED,
  REPLY_FLUSHED,
  REPLY_HELP,
  REPLY_LINE_TOO_LONG,
  REPLY_NUL_IN_COMMAND,
  REPLY_OK,
  REPLY_TIMEOUT,
  REPLY_TLS_ACTIVE,
  REPLY_TLS_READY,
  REPLY_TLS_SYNTAX,
  REPLY_UNIMPLEMENTED,
  REPLY_VRFY,
} from "./replies.ts";

// The step and option types live beside the session; importers may keep taking them from here.
export type {
  DataOutcome,
  ScanResult,
  SmtpAuthEffect,
  SmtpCommitEffect,
  SmtpDataEffect,
  SmtpEffect,
  SmtpLogEffect,
  SmtpLookupEffect,
  SmtpStartTlsEffect,
  SmtpStep,
} from "./session_step.ts";
export type { SmtpAuthOptions, SmtpDelays, SmtpSessionOptions } from "./session_options.ts";

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
  | { phase: "auth"; conversation: Conversation; exchange: AuthExchange }
  /** A filter check's lookup is out; the role owes lookupAnswered(). */
  | { phase: "lookup"; pending: PendingChain }
  | { phase: "closed" };

type AuthState = SessionState & { phase: "auth" };

/**
 * Verbs that reveal an HTTP client (a browser or proxy aimed at port 25,
 * docs/reliability.md P7). qmd answers 502 like any unknown verb and then
 * closes, so nothing else in the request is read as SMTP; vanilla qmail would
 * keep reading.
 */
const HTTP_VERBS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace"]);

/** A string as its bytes, one char per byte (UTF-8 when it has chars above 255). */
function byteString(text: string): string {
  return bytesToString(stringToBytes(text));
}

export class SmtpSession {
  #options: SmtpSessionOptions;
  #state: SessionState = { phase: "connected" };
  #tlsActive: boolean;
  #tlsRelay = false;
  /** The AUTH user once authenticated. */
  #authUser: string | undefined;
  #quit = false;
  /** The filter chain's side of the session: decisions, rblsmtpd mode, header lines. */
  readonly #gate: FilterGate;
  /** Unix ms of the last clock reading the role passed in, for the checks' requests. */
  #now = 0;
  #helo: string | undefined;

  constructor(options: SmtpSessionOptions) {
    if (options.greeting.length === 0) throw new Error("The SMTP greeting needs at least one line");
    // Everything that ends up inside an address is kept one char per byte.
    this.#options = {
      ...options,
      relayClient: options.relayClient === undefined ? undefined : byteString(options.relayClient),
      rcptToFixed: options.rcptToFixed === undefined ? undefined : byteString(options.rcptToFixed),
      localIpHost: options.localIpHost === undefined ? undefined : byteString(options.localIpHost),
    };
    this.#tlsActive = options.tls?.active ?? false;
    this.#gate = new FilterGate({
      options: () => this.#options,
      setState: (state) => this.#state = state,
      blacklist: (recipient) => {
        this.#options = {
          ...this.#options,
          blacklisted: {
            recipient: byteString(recipient),
            databytes: this.#options.blacklistDatabytes ?? this.#options.databytes,
          },
        };
      },
    });
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

  /** The filter chain's and the content scans' decisions so far, in order. */
  get decisions(): readonly Decision[] {
    return this.#gate.decisions;
  }

  /** The last HELO/EHLO name the session accepted. */
  get helo(): string | undefined {
    return this.#helo;
  }

  /**
   * `220 GREETING ESMTP`. A multi-line smtpgreeting (qmail-md patch, docs/patches.md seed 000)
   * is sent as `220-line`… with ` ESMTP` after the last line, where vanilla
   * qmail puts it after its only line.
   */
  greet(now?: Date): SmtpStep {
    if (this.#state.phase !== "connected") throw new Error("The SMTP session was already greeted");
    this.#clock(now);
    const state = {
      phase: "command" as const,
      conversation: { helo: undefined, transaction: undefined },
    };
    this.#state = state;
    const lines = this.#options.greeting;
    return this.#gate.ask({
      request: this.#request("connect", state.conversation, {}),
      command: "CONNECT",
      back: state,
      proceed: (headers) => {
        this.#gate.connectHeaders = headers;
        return step(
          lines.map((line, i) => i === lines.length - 1 ? `220 ${line} ESMTP` : `220-${line}`),
        );
      },
    });
  }

  /** A `lookup` effect's answer: the check that asked goes on, the rest of the chain, the command. */
  lookupAnswered(answer: LookupAnswer, now?: Date): SmtpStep {
    const state = this.#state;
    if (state.phase !== "lookup") {
      throw new Error(`A lookup answer arrived in the ${state.phase} phase`);
    }
    this.#clock(now);
    return this.#gate.resume(state.pending, answer);
  }

  /**
   * The body is in (the DATA section ended within the limits) and the content
   * scans finished with these verdicts; the role holds the message
   * uncommitted. A scan's refusal refuses the message, else the end checks
   * decide; a `commit` effect tells the role to commit and call dataFinished(),
   * a step without one refused the message and the role drops it.
   */
  bodyReceived(scans: readonly ScanResult[], now?: Date): SmtpStep {
    const state = this.#state;
    if (state.phase !== "data") throw new Error(`A body arrived in the ${state.phase} phase`);
    this.#clock(now);
    return this.#gate.endOfData(scans, {
      request: this.#request("end", state.conversation, {}),
      command: "END-OF-MESSAGE",
      back: state,
      proceed: () => step([], { effects: [{ kind: "commit" }] }),
    });
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
      return this.#authProgress(state, state.exchange.receive(bytesToString(bytes)));
    }
    if (state.phase !== "command") {
      throw new Error(`A command line arrived in the ${state.phase} phase`);
    }
    this.#clock(now);
    const text = bytesToString(bytes);
    const space = text.indexOf(" ");
    const verb = asciiLowerCase(space < 0 ? text : text.slice(0, space));
    const rbl = this.#gate.rbl;
    if (rbl !== undefined) {
      // rblsmtpd's conversation, whatever the line holds.
      const answer = rblCommand(verb, rbl, this.#options.env ?? {});
      if (answer.quit) {
        this.#state = { phase: "closed" };
        this.#quit = true;
      }
      return step(answer.replies, { close: answer.close });
    }
    if (bytes.includes(0)) return step([REPLY_NUL_IN_COMMAND]);
    const argument = space < 0 ? "" : text.slice(space).replace(/^ +/, "");
    return this.#command(
      { phase: "command", conversation: state.conversation },
      verb,
      argument,
      now,
    );
  }

  /** One command, by its verb (lower case); one handler per verb, as chasquid has. */
  #command(
    state: { phase: "command"; conversation: Conversation },
    verb: string,
    argument: string,
    now: Date,
  ): SmtpStep {
    const conversation = state.conversation;
    const helo = conversation.helo;
    const view = this.#view();
    switch (verb) {
      case "helo":
      case "ehlo":
        return heloStep(this.#context(state), argument, verb === "ehlo");
      case "mail":
        return mailStep(this.#context(state), argument);
      case "rcpt":
        return rcptStep(this.#context(state), argument);
      case "data":
        return dataStep(this.#context(state), now);
      case "starttls":
        return this.#startTls(argument);
      case "auth":
        return this.#logged(this.#auth(view, conversation, argument), "AUTH", helo, () => ({
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
   * (docs/patches.md seed 000) and the session goes on.
   */
  lineTooLong(): SmtpStep {
    const state = this.#state;
    if (state.phase === "closed") return step([], { close: true });
    if (state.phase === "auth") {
      return this.#authProgress(state, state.exchange.lineTooLong());
    }
    if (state.phase !== "command") {
      throw new Error(`A command line arrived in the ${state.phase} phase`);
    }
    return tarpitStep(this.#options.tarpit, [REPLY_LINE_TOO_LONG], "command line too long");
  }

  /** The DATA section ended; replies in qmail's order of checks (§8.3). */
  dataFinished(outcome: DataOutcome): SmtpStep {
    const state = this.#state;
    if (state.phase !== "data") throw new Error(`DATA finished in the ${state.phase} phase`);
    const { helo, transaction } = state.conversation;
    // A finished DATA always needs a new MAIL (qmail clears seenmail at DATA).
    const result = this.#moved(endOfDataStep(outcome), { helo, transaction: undefined });
    return this.#logged(result, "END-OF-MESSAGE", helo, () => ({
      sender: transaction?.sender,
      recipients: transaction?.recipients,
    }));
  }

  /**
   * The TLS handshake after STARTTLS succeeded. RFC 3207 §4.2: the session
   * starts over, discarding all it learnt from the client before TLS: HELO,
   * any transaction and a successful AUTH (so relaying needs a new AUTH).
   * `relay` is true when the client's certificate is one of
   * control/tlsclients (docs/patches.md seed 001).
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
    if (state.phase !== "auth" || !state.exchange.verifying) {
      throw new Error(`An AUTH result arrived in the ${state.phase} phase`);
    }
    if (blocked) {
      this.#state = { phase: "closed" };
      return this.#authLogged(state, step([REPLY_AUTH_BLOCKED], { close: true }));
    }
    return this.#authProgress(state, state.exchange.verified(result, recentFailures));
  }

  /** A read timed out (timeoutsmtpd): `451 4.4.2 timeout` and close (§8.8); rblsmtpd just drops. */
  timeout(): SmtpStep {
    const quiet = this.#state.phase === "closed" || this.#gate.rbl !== undefined;
    this.#state = { phase: "closed" };
    return step(quiet ? [] : [REPLY_TIMEOUT], { close: true });
  }

  /** The seconds rblsmtpd's -t gives its conversation, once one began with -t. */
  get rblSeconds(): number | undefined {
    return this.#gate.rblSeconds;
  }

  /** What session_commands.ts's handlers get for one command. */
  #context(state: { phase: "command"; conversation: Conversation }): CommandContext {
    const conversation = state.conversation;
    return {
      view: this.#view(),
      state,
      gate: this.#gate,
      request: (phase, extra) => this.#request(phase, conversation, extra),
      logged: (result, command, envelope) =>
        this.#logged(result, command, conversation.helo, envelope),
      moved: (result) => this.#moved(result, conversation),
      heloAccepted: (helo) => this.#helo = helo,
    };
  }

  /** What a phase's checks are asked with. */
  #request(
    phase: FilterPhase,
    conversation: Conversation,
    extra: Partial<FilterRequest>,
  ): FilterRequest {
    const view = this.#view();
    return filterRequest(view, { phase, now: this.#now, ...extra }, conversation);
  }

  #clock(now: Date | undefined): void {
    if (now !== undefined) this.#now = now.getTime();
  }

  /** What the verb handlers see of this session. */
  #view(): SessionView {
    return {
      options: this.#options,
      tlsActive: this.#tlsActive,
      authUser: this.#authUser,
      relaying: this.#options.relayClient !== undefined || this.#authUser !== undefined ||
        this.#tlsRelay,
    };
  }

  /** Moves to the phase a step of the transaction leaves the session in. */
  #moved(result: TransactionStep, conversation: Conversation): SmtpStep {
    if (result.phase === "closed") this.#state = { phase: "closed" };
    else this.#state = { phase: result.phase, conversation };
    return result.step;
  }

  /** STARTTLS (RFC 3207); unknown to a server without a certificate, as in qmail. */
  #startTls(argument: string): SmtpStep {
    if (!this.#options.tls?.offered && !this.#tlsActive) return step([REPLY_UNIMPLEMENTED]);
    if (this.#tlsActive) return step([REPLY_TLS_ACTIVE]);
    if (argument !== "") return step([REPLY_TLS_SYNTAX]);
    this.#state = { phase: "starttls" };
    return step([REPLY_TLS_READY], { effects: [{ kind: "starttls" }] });
  }

  /** AUTH MECHANISM [initial-response]: a refusal, or the first step of an exchange. */
  #auth(view: SessionView, conversation: Conversation, argument: string): SmtpStep {
    const begun = beginAuth(view, conversation, argument);
    if (begun.kind === "refused") return begun.step;
    const state: AuthState = { phase: "auth", conversation, exchange: begun.exchange };
    this.#state = state;
    return this.#authMoved(state, begun.progress);
  }

  /** Leaves the AUTH phase when the exchange ended, with the user when it succeeded. */
  #authMoved(state: AuthState, progress: AuthProgress): SmtpStep {
    if (progress.kind === "success") this.#authUser = progress.user;
    if (progress.kind !== "continue") {
      this.#state = { phase: "command", conversation: state.conversation };
    }
    return progress.step;
  }

  /** A step of an AUTH exchange under way: #authMoved, then #authLogged. */
  #authProgress(state: AuthState, progress: AuthProgress): SmtpStep {
    return this.#authLogged(state, this.#authMoved(state, progress));
  }

  /** #logged for a step of an AUTH exchange. */
  #authLogged(state: AuthState, result: SmtpStep): SmtpStep {
    return this.#logged(result, "AUTH", state.conversation.helo, () => ({
      mechanism: state.exchange.mechanism,
    }));
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
}
