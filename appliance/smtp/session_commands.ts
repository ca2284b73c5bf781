/**
 * HELO/EHLO, MAIL, RCPT and DATA as the session (session.ts) runs them: each
 * verb's own checks first (helo.ts, transaction.ts, qmail's order), then the
 * filter chain's checks of that phase (session_filters.ts FilterGate), then
 * the verb's reply. A refusal by qmail's own checks never reaches the chain.
 */
import type { FilterPhase, FilterRequest } from "../filters/filter.ts";
import type { Conversation, SessionView } from "./conversation.ts";
import { heloCommand } from "./helo.ts";
import type { RefusedCommand } from "./rejection.ts";
import type { FilterGate } from "./session_filters.ts";
import { REPLY_RCPT_OK } from "./replies.ts";
import { type SmtpStep, step } from "./session_step.ts";
import {
  attemptedAddress,
  blacklisted,
  dataCommand,
  mailCommand,
  rcptCommand,
  type TransactionStep,
} from "./transaction.ts";

/** What a verb handler here is given by the session for one command. */
export interface CommandContext {
  view: SessionView;
  state: { phase: "command"; conversation: Conversation };
  gate: FilterGate;
  request(phase: FilterPhase, extra: Partial<FilterRequest>): FilterRequest;
  /** The session's `reject:` log line for a refusal by qmail's own checks. */
  logged(
    result: SmtpStep,
    command: RefusedCommand,
    envelope: () => { sender?: string; recipients?: string[] },
  ): SmtpStep;
  /** Moves the session to the phase a DATA step leaves it in. */
  moved(result: TransactionStep): SmtpStep;
  /** A HELO/EHLO name the checks let in. */
  heloAccepted(helo: string): void;
}

/** HELO/EHLO (helo.ts), once the helo checks let the name in. */
export function heloStep(context: CommandContext, argument: string, extended: boolean): SmtpStep {
  const { view, state } = context;
  // qmail-md: no argument, no hello (and nothing for the checks to look at).
  if (argument === "") return heloCommand(view, state.conversation, argument, extended);
  return context.gate.ask({
    request: context.request("helo", { helo: argument }),
    command: "HELO",
    back: state,
    proceed: (headers) => {
      context.heloAccepted(argument);
      const reply = heloCommand(view, state.conversation, argument, extended);
      state.conversation.heloHeaders = headers;
      return reply;
    },
  });
}

/** MAIL (transaction.ts): qmail's checks, then the mail checks, then the new transaction. */
export function mailStep(context: CommandContext, argument: string): SmtpStep {
  const { view, state } = context;
  const conversation = state.conversation;
  const opened = mailCommand(view, argument);
  const transaction = opened.transaction;
  if (transaction === undefined) {
    return context.logged(opened.step, "MAIL", () => ({
      sender: attemptedAddress(view.options, argument),
    }));
  }
  return context.gate.ask({
    request: context.request("mail", { sender: transaction.sender, recipients: [], argument }),
    command: "MAIL",
    back: state,
    opens: transaction,
    proceed: (headers) => {
      conversation.transaction = { ...transaction, headers };
      return opened.step;
    },
  });
}

/**
 * RCPT (transaction.ts). A transaction a check refused as a whole (seed 003)
 * refuses every further recipient. The recipient checks are asked only once
 * qmail's own checks (BATV, rcpthosts, the recipient limits; badmailfrom is a MAIL check now)
 * accepted the recipient, so a relay attempt gets qmail's 553 before any check
 * looks at it, as in seed 003 (badrcptto and realrcptto after rcpthosts).
 * Where a seed orders differently qmd keeps this order: qmail-md (seed 000)
 * runs rcptcheck before its maxrcpt limit, qmd refuses a recipient over the
 * limit first, without running the program.
 */
export function rcptStep(context: CommandContext, argument: string): SmtpStep {
  const { view, state } = context;
  const conversation = state.conversation;
  const transaction = conversation.transaction;
  const envelope = () => ({
    sender: transaction?.sender,
    recipients: [attemptedAddress(view.options, argument)],
  });
  if (transaction?.refusal !== undefined) {
    transaction.rcptCount++;
    return context.logged(step([...transaction.refusal]), "RCPT", envelope);
  }
  const added = rcptCommand(view, conversation, argument);
  const recipient = added.recipient;
  if (transaction === undefined || recipient === undefined) {
    return context.logged(added.step, "RCPT", envelope);
  }
  if (blacklisted(view)) {
    // The recipient is ignored (the message goes to $BLACKLISTED): no recipient check applies.
    transaction.recipients.push(recipient);
    return added.step;
  }
  return context.gate.ask({
    request: context.request("rcpt", { recipient, argument }),
    command: "RCPT",
    back: state,
    proceed: (headers) => {
      transaction.recipients.push(recipient);
      transaction.headers.push(...headers);
      return added.step;
    },
    refused: (verdict) => {
      transaction.refused.push({ recipient, check: verdict.rule.check });
      if (!hidesRefusal(view, verdict.rule.check)) return undefined;
      // Counted as a recipient, so DATA reaches the check that refuses the whole message.
      transaction.recipients.push(recipient);
      return step([REPLY_RCPT_OK], {
        effects: [{
          kind: "log",
          event: "filter",
          text:
            `QMAILRRTDENYALL: <${transaction.sender}> to <${recipient}> refused by ${verdict.rule.check}, answered 250`,
        }],
      });
    },
  });
}

/**
 * QMAILRRTDENYALL (docs/patches.md seed 001): a recipient realrcptto finds no
 * mailbox for is answered 250 like any other, so the addresses cannot be
 * probed one by one, and the whole message is refused at DATA
 * (filters/whole_message.ts).
 */
function hidesRefusal(view: SessionView, check: string): boolean {
  return check === "realrcptto" && view.options.env?.QMAILRRTDENYALL !== undefined;
}

/**
 * DATA (transaction.ts): a transaction refused as a whole is refused again;
 * else qmail's checks, then the data checks, then 354 and the `data` effect
 * with every header line the checks of this session and transaction added.
 */
export function dataStep(context: CommandContext, now: Date): SmtpStep {
  const { view, state, gate } = context;
  const conversation = state.conversation;
  const transaction = conversation.transaction;
  const envelope = () => ({ sender: transaction?.sender, recipients: transaction?.recipients });
  if (transaction?.refusal !== undefined && transaction.recipients.length > 0) {
    return context.logged(step([...transaction.refusal]), "DATA", envelope);
  }
  const request = context.request("data", {});
  const data = dataCommand(view, conversation, now, request);
  if (data.phase !== "data" || transaction === undefined) {
    return context.logged(context.moved(data), "DATA", envelope);
  }
  return gate.ask({
    request,
    command: "DATA",
    back: state,
    proceed: (headers) => {
      const all = [
        ...gate.connectHeaders,
        ...(conversation.heloHeaders ?? []),
        ...transaction.headers,
        ...headers,
      ];
      const effects = data.step.effects.map((effect) =>
        effect.kind === "data" ? { ...effect, headers: all } : effect
      );
      return context.moved({ ...data, step: { ...data.step, effects } });
    },
  });
}
