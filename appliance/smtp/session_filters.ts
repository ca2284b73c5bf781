/**
 * What the SMTP session (session.ts) does with the filter chain's outcomes
 * (appliance/filters/chain.ts), kept out of the session's dispatch: the
 * request a phase is asked with, the one log line of a refusal, the TARPIT:
 * lines of a tarpit, and rblsmtpd's conversation with a client refused for
 * the whole session. Pure.
 */
import {
  type Decision,
  type FilterRequest,
  formatRule,
  type LookupAnswer,
  type Verdict,
} from "../filters/filter.ts";
import {
  type ActiveCheck,
  type ChainOutcome,
  type ChainResume,
  type ChainTally,
  decisionInput,
  resumeChain,
  runChain,
} from "../filters/chain.ts";
import { safeLogText } from "../log_text.ts";
import { formatRejection, type RefusedCommand } from "./rejection.ts";
import { type ScanResult, type SmtpLogEffect, type SmtpStep, step } from "./session_step.ts";
import type { Conversation, SessionView, Transaction } from "./conversation.ts";
import type { SmtpSessionOptions } from "./session_options.ts";

/** The chain's outcome for a phase when nothing is left to look up. */
export type Refusal = Verdict & { kind: "refuse" };

/** What a refusal's log line says about the command and the envelope so far. */
export interface RefusalContext {
  command: RefusedCommand;
  request: FilterRequest;
}

/**
 * The one log line of a filter refusal: the check's own text when it gave one
 * (the seeds' bmchecks lines, `CLAMD:`, the rblsmtpd line), else the `reject:`
 * line every refusal gets (rejection.ts) with the check and its rule.
 */
export function refusalLog(verdict: Refusal, context: RefusalContext): SmtpLogEffect {
  const { command, request } = context;
  const recipients = request.phase === "rcpt" && request.recipient !== undefined
    ? [request.recipient]
    : [...request.recipients];
  const rejection = formatRejection({
    command,
    remoteIp: request.remoteIp,
    helo: request.helo,
    sender: request.sender,
    recipients,
    reply: verdict.reply.join(" / "),
  });
  // The rule comes from the operator's control files; logEvent escapes control characters.
  const rule = formatRule(verdict.rule);
  return {
    ...rejection,
    text: verdict.log ?? `${rejection.text} (by ${rule})`,
    fields: { ...rejection.fields, check: verdict.rule.check, rule },
  };
}

/**
 * Seed 000's `TARPIT: <sender> to <recipient> | helo(HELO)`, with what the
 * request knows (the client's address when it knows neither address).
 */
export function seedTarpitText(request: FilterRequest): string {
  const parts: string[] = [];
  if (request.sender !== undefined) parts.push(`<${safeLogText(request.sender)}>`);
  // At RCPT the recipient asked for; at the end of DATA every accepted one (seed 000's CLAMD sample).
  const recipients = request.recipient !== undefined ? [request.recipient] : request.recipients;
  if (recipients.length > 0) {
    parts.push(`to ${recipients.map((each) => `<${safeLogText(each)}>`).join(" ")}`);
  }
  if (parts.length === 0) parts.push(safeLogText(request.remoteIp));
  return `TARPIT: ${parts.join(" ")} | helo(${safeLogText(request.helo ?? "")})`;
}

/**
 * The TARPIT: line of each tarpit decision: the check's own text, else seed
 * 000's form (seedTarpitText) with the rule.
 */
export function tarpitLogs(
  decisions: readonly Decision[],
  request: FilterRequest,
): SmtpLogEffect[] {
  return decisions.filter((decision) => decision.verdict === "tarpit").map((decision) => {
    const rule = decision.rule === undefined ? decision.check : formatRule(decision.rule);
    const text = decision.log ?? `${seedTarpitText(request)} | ${rule}`;
    return { kind: "log", event: "tarpit", text };
  });
}

/** rblsmtpd's names for itself; seed 000's patched rblsmtpd takes the texts from RBL_GREET etc. */
const RBL_HOST = "rblsmtpd.local";

function rblText(env: Readonly<Record<string, string>>, name: string): string {
  const value = env[name];
  return value === undefined || value === "" ? RBL_HOST : value;
}

/** rblsmtpd's greeting: `220 rblsmtpd.local`, or `220 $RBL_GREET` (seed 000's run file). */
export function rblGreeting(env: Readonly<Record<string, string>>): string {
  return `220 ${rblText(env, "RBL_GREET")}`;
}

/**
 * One command of rblsmtpd's conversation with a listed client (ucspi-tcp
 * rblsmtpd.c): QUIT gets 221 and the end; HELO, EHLO, MAIL, RSET and NOOP get
 * 250; every other line (RCPT, DATA, the body a client sends anyway) gets the
 * refusal. Seed 000's rblsmtpd patch names the 250 text RBL_ACCEPT and the
 * 221 text RBL_QUIT; unset, they are rblsmtpd's own `rblsmtpd.local`.
 */
export function rblCommand(
  verb: string,
  reply: readonly string[],
  env: Readonly<Record<string, string>>,
): SmtpStep & { quit: boolean } {
  switch (verb) {
    case "quit":
      return { ...step([`221 ${rblText(env, "RBL_QUIT")}`], { close: true }), quit: true };
    case "helo":
    case "ehlo":
    case "mail":
    case "rset":
    case "noop":
      return { ...step([`250 ${rblText(env, "RBL_ACCEPT")}`]), quit: false };
    default:
      return { ...step([...reply]), quit: false };
  }
}

/**
 * What a phase's checks are asked with: what the session knows of its client
 * and conversation, and the command's own part (`extra`).
 */
export function filterRequest(
  view: SessionView,
  extra: Partial<FilterRequest> & { phase: FilterRequest["phase"]; now: number },
  conversation: Conversation,
): FilterRequest {
  const options = view.options;
  const transaction = conversation.transaction;
  const request: FilterRequest = {
    remoteIp: options.remoteIp,
    env: options.env ?? {},
    relaying: view.relaying,
    tls: view.tlsActive,
    recipients: [...(transaction?.recipients ?? [])],
    ...extra,
  };
  if (options.remoteHost !== "unknown") request.remoteHost ??= options.remoteHost;
  const localIp = options.localIps?.[0];
  if (localIp !== undefined) request.localIp = localIp;
  if (view.authUser !== undefined) request.authUser = view.authUser;
  if (conversation.helo !== undefined) request.helo ??= conversation.helo;
  if (transaction !== undefined) request.sender ??= transaction.sender;
  if (transaction !== undefined && transaction.refused.length > 0) {
    request.refusedRecipients ??= [...transaction.refused];
  }
  return request;
}

/** A state the gate leaves the session in (session.ts has the others). */
export type GateState =
  | { phase: "command" | "data"; conversation: Conversation }
  | { phase: "lookup"; pending: PendingChain }
  | { phase: "closed" };

/** A phase's chain run under way: what was asked and what the command does once decided. */
export interface ChainAsk {
  request: FilterRequest;
  command: RefusedCommand;
  /** The state the command was taken in, restored when the run is decided. */
  back: GateState & { phase: "command" | "data" };
  /** The command's own step once the chain let it go on, with the passing checks' header lines. */
  proceed: (headers: string[]) => SmtpStep;
  /**
   * The transaction a refusal of scope "transaction" applies to, when the
   * command opens a new one (MAIL); default the conversation's.
   */
  opens?: Transaction;
  /**
   * Told of a check's refusal before it is sent; a step returned is sent
   * instead (QMAILRRTDENYALL answers an unknown recipient 250, session_commands.ts).
   */
  refused?: (verdict: Refusal) => SmtpStep | undefined;
}

/** Where a run stopped for a lookup. */
export interface PendingChain extends ChainAsk {
  resume: ChainResume;
  tally: ChainTally;
}

/** What the gate needs of its session. */
export interface GateHooks {
  options(): SmtpSessionOptions;
  setState(state: GateState): void;
  /** A check marked the client BLACKLISTED with this address. */
  blacklist(recipient: string): void;
}

/**
 * The session's side of the filter chain: asks a phase's checks, keeps the
 * decisions for the trace, the connect checks' header lines and an
 * rblsmtpd-style refusal of the whole session, and turns an outcome into the
 * step to send.
 */
export class FilterGate {
  /** Every decision of the chain and the content scans, in order. */
  readonly decisions: Decision[] = [];
  /** Header lines the connect-phase checks added, for every message of the session. */
  connectHeaders: string[] = [];
  /** A check refused the whole session: rblsmtpd's conversation with this reply. */
  rbl: readonly string[] | undefined;
  /** rblsmtpd's `-t`: that conversation is dropped after these seconds (its alarm(), then _exit). */
  rblSeconds: number | undefined;
  readonly #hooks: GateHooks;

  constructor(hooks: GateHooks) {
    this.#hooks = hooks;
  }

  #checks(): readonly ActiveCheck[] {
    return this.#hooks.options().checks ?? [];
  }

  /** Asks the phase's checks; the command proceeds, is refused, or waits for a lookup. */
  ask(ask: ChainAsk): SmtpStep {
    return this.#settle(runChain(this.#checks(), ask.request), ask);
  }

  /** Goes on with the answer to the lookup a check asked for. */
  resume(pending: PendingChain, answer: LookupAnswer): SmtpStep {
    const outcome = resumeChain(
      this.#checks(),
      pending.request,
      pending.resume,
      answer,
      pending.tally,
    );
    return this.#settle(outcome, pending);
  }

  /**
   * The end of DATA: the content scans' verdicts (recorded as decisions of
   * the end phase; the first refusal decides), then the end checks.
   */
  endOfData(scans: readonly ScanResult[], ask: ChainAsk): SmtpStep {
    const tally: ChainTally = { headers: [], tarpitSeconds: 0, decisions: [] };
    const input = decisionInput(ask.request);
    for (const { check, verdict } of scans) {
      const decision: Decision = {
        time: ask.request.now,
        phase: "end",
        check,
        input,
        verdict: verdict.kind,
      };
      if ("rule" in verdict) decision.rule = verdict.rule;
      if ("log" in verdict && verdict.log !== undefined) decision.log = verdict.log;
      if (verdict.kind === "refuse") decision.reply = verdict.reply.join("\n");
      tally.decisions.push(decision);
      if (verdict.kind === "tarpit") tally.tarpitSeconds += verdict.seconds;
      if (verdict.kind === "refuse") {
        return this.#settle({ kind: "refuse", verdict, ...tally }, ask);
      }
    }
    const outcome = runChain(this.#checks(), ask.request);
    return this.#settle({
      ...outcome,
      tarpitSeconds: outcome.tarpitSeconds + tally.tarpitSeconds,
      decisions: [...tally.decisions, ...outcome.decisions],
    }, ask);
  }

  /** What a chain outcome means for the session: wait, go on, or refuse. */
  #settle(outcome: ChainOutcome, ask: ChainAsk): SmtpStep {
    this.decisions.push(...outcome.decisions);
    if (outcome.kind === "lookup") {
      const { headers, tarpitSeconds, blacklist, blacklistRecipient } = outcome;
      const tally: ChainTally = { headers, tarpitSeconds, decisions: [] };
      if (blacklist !== undefined) tally.blacklist = blacklist;
      if (blacklistRecipient !== undefined) tally.blacklistRecipient = blacklistRecipient;
      this.#hooks.setState({ phase: "lookup", pending: { ...ask, resume: outcome.resume, tally } });
      return step([], { effects: [{ kind: "lookup", lookup: outcome.lookup }] });
    }
    this.#hooks.setState(ask.back);
    const notes = this.#blacklisted(outcome);
    const result = outcome.kind === "continue"
      ? ask.proceed(outcome.headers)
      : this.#refused(outcome.verdict, ask);
    // Seed 000 logs TARPIT: before the reply it delays.
    const tarpits = outcome.tarpitSeconds > 0 ? tarpitLogs(outcome.decisions, ask.request) : [];
    const before = outcome.kind === "refuse" ? this.#refusalTarpit(outcome.verdict, ask) : [];
    return {
      ...result,
      delay: result.delay + outcome.tarpitSeconds + before.length * this.#tarpitDelay(),
      effects: [...notes, ...tarpits, ...result.effects, ...before],
    };
  }

  /** tarpitdelay when tarpitting is on (tarpitcount above 0, no NO_TARPITTING), else 0. */
  #tarpitDelay(): number {
    const tarpit = this.#hooks.options().tarpit;
    return tarpit === undefined || tarpit.count <= 0 ? 0 : Math.max(tarpit.delaySeconds, 0);
  }

  /** The TARPIT: line of a refusal seed 000 tarpits (`tarpitted`), when tarpitting is on. */
  #refusalTarpit(verdict: Refusal, ask: ChainAsk): SmtpLogEffect[] {
    if (!verdict.tarpitted || this.#tarpitDelay() <= 0) return [];
    return [{ kind: "log", event: "tarpit", text: seedTarpitText(ask.request) }];
  }

  /**
   * A check marked the client BLACKLISTED (seed 000's spam catcher): from
   * the next command on the session is in that mode, as with $BLACKLISTED.
   */
  #blacklisted(tally: ChainTally): SmtpLogEffect[] {
    if (tally.blacklist === undefined || this.#hooks.options().blacklisted !== undefined) return [];
    const recipient = tally.blacklistRecipient;
    if (recipient === undefined) {
      return [{
        kind: "log",
        event: "filter",
        text: `blacklist verdict of ${tally.blacklist.check} names no address: ignored`,
      }];
    }
    this.#hooks.blacklist(recipient);
    return [];
  }

  /**
   * A check's refusal: its reply and its one log line. Scope "transaction"
   * refuses the rest of the transaction, "session" starts rblsmtpd's
   * conversation; a refused connection gets rblsmtpd's greeting instead of
   * ours (or, with `close`, only the refusal), and any other refusal of the
   * connection ends it: there is no conversation to refuse commands in.
   */
  #refused(verdict: Refusal, ask: ChainAsk): SmtpStep {
    const instead = ask.refused?.(verdict);
    if (instead !== undefined) return instead;
    const log = refusalLog(verdict, ask);
    const conversation = ask.back.conversation;
    let replies = [...verdict.reply];
    let close = verdict.close ?? false;
    if (verdict.scope === "session") {
      this.rbl = verdict.reply;
      if ((verdict.sessionSeconds ?? 0) > 0) this.rblSeconds = verdict.sessionSeconds;
    }
    if (verdict.scope === "transaction") {
      // A MAIL refused so opens its transaction all the same, refused as a whole.
      if (ask.opens !== undefined) conversation.transaction = ask.opens;
      if (conversation.transaction !== undefined) conversation.transaction.refusal = verdict.reply;
    }
    if (ask.request.phase === "connect") {
      if (verdict.scope === "session" && !close) {
        replies = [rblGreeting(this.#hooks.options().env ?? {})];
      } else close = true;
    }
    if (ask.request.phase === "end") {
      // As after any end of DATA, a new MAIL is needed (qmail clears seenmail at DATA).
      this.#hooks.setState({
        phase: "command",
        conversation: { ...conversation, transaction: undefined },
      });
    }
    if (close) this.#hooks.setState({ phase: "closed" });
    return step(replies, { close, effects: [log] });
  }
}
