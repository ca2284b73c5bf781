/**
 * The mail transaction (RFC 5321 §3.3, docs/queue-format.md §8.4–§8.7): MAIL
 * opens it, RCPT adds the recipients rcpthosts, RELAYCLIENT, AUTH, BATV and
 * the recipient limits allow, DATA hands the envelope to the role, and the
 * role's report of the body gives the final reply. Each verb is a function of
 * the session's view and its conversation, returning the step to send.
 */
import { safeLogText } from "../log_text.ts";
import { stringToBytes } from "../bytes.ts";
import { hasRoutingLocalPart, isRcptAllowed, parseSmtpAddress } from "./mail_rcpt_address.ts";
import { formatSmtpReceived } from "./received.ts";
import { parseSmtpUtf8Parameter, REPLY_SMTPUTF8_VALUE, utf8AddressRefusal } from "./smtputf8.ts";
import type { FilterRequest } from "../filters/filter.ts";
import type { Conversation, SessionView, Transaction } from "./conversation.ts";
import type { SmtpSessionOptions } from "./session_options.ts";
import { type DataOutcome, type SmtpStep, step, tarpitStep } from "./session_step.ts";
import {
  formatAcceptedReply,
  formatQueueErrorReply,
  REPLY_AUTH_REQUIRED,
  REPLY_BARE_LF,
  REPLY_BATV_INVALID,
  REPLY_BATV_UNSIGNED,
  REPLY_BREAK_RULES,
  REPLY_GO_AHEAD,
  REPLY_MAIL_BLACKLISTED,
  REPLY_MAIL_FIRST,
  REPLY_MAIL_OK,
  REPLY_NO_GATEWAY,
  REPLY_RCPT_BLACKLISTED,
  REPLY_RCPT_OK,
  REPLY_SIZE_TOO_BIG,
  REPLY_SYNTAX,
  REPLY_TOO_BIG,
  REPLY_TOO_MANY_HOPS,
  REPLY_TOO_MANY_RECIPIENTS,
} from "./replies.ts";

/** qmail-smtpd's MAXHOPS. */
const DEFAULT_MAX_HOPS = 100;

/** A step of DATA or its end, and the phase it leaves the session in. */
export interface TransactionStep {
  step: SmtpStep;
  /** `data`: 354 sent, the role streams the body; `closed`: the step closes the connection. */
  phase: "command" | "data" | "closed";
}

/** MAIL FROM's parameters (RFC 5321 §4.1.2 Mail-parameters): the words after the `>`. */
function mailParameters(argument: string): string[] {
  const close = argument.indexOf(">");
  const parameters = close >= 0 ? argument.slice(close + 1) : "";
  return parameters.split(" ").filter((word) => word !== "");
}

/** `SIZE=n` among MAIL FROM's parameters (RFC 1870 §6); undefined when absent or malformed. */
function parseSizeParameter(parameters: readonly string[]): number | undefined {
  for (const word of parameters) {
    const match = /^size=(\d{1,15})$/i.exec(word);
    if (match !== null) return Number(match[1]);
  }
  return undefined;
}

function addressOptions(options: SmtpSessionOptions) {
  return {
    localIpHost: options.localIpHost,
    localIps: options.localIps,
    maxAddressLength: options.maxAddressLength,
  };
}

/** The address a MAIL or RCPT names, for the log: as parsed, else as the client wrote it. */
export function attemptedAddress(options: SmtpSessionOptions, argument: string): string {
  return parseSmtpAddress(argument, addressOptions(options)) ?? argument;
}

/** BLACKLISTED (docs/patches.md seed 000) applies: set, and no AUTH (md19). */
export function blacklisted(view: SessionView): boolean {
  return view.options.blacklisted !== undefined && view.authUser === undefined;
}

/**
 * The size limit for a message: databytes, then databytesmf, then databytesrcpt (docs/patches.md
 * seed 001).
 */
function messageLimit(view: SessionView, sender: string, recipients: string[]): number {
  const options = view.options;
  if (options.blacklisted !== undefined && blacklisted(view)) {
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

/**
 * MAIL starts a new transaction: the step to send and, when qmail's own
 * checks accept it, the transaction the session opens once the filter chain
 * agrees; a syntax error leaves the old one in place, as in qmail.
 */
export function mailCommand(
  view: SessionView,
  argument: string,
): { step: SmtpStep; transaction?: Transaction } {
  const options = view.options;
  if (options.auth?.required && view.authUser === undefined) {
    return { step: step([REPLY_AUTH_REQUIRED]) };
  }
  const sender = parseSmtpAddress(argument, addressOptions(options));
  if (sender === null) {
    return { step: tarpitStep(options.tarpit, [REPLY_SYNTAX], "address too long or malformed") };
  }
  const parameters = mailParameters(argument);
  const smtpUtf8 = parseSmtpUtf8Parameter(parameters);
  if (smtpUtf8 === "invalid") return { step: step([REPLY_SMTPUTF8_VALUE]) };
  const notUtf8 = utf8AddressRefusal(sender, smtpUtf8 === "declared", "MAIL");
  if (notUtf8 !== undefined) return { step: step([notUtf8]) };
  const declared = parseSizeParameter(parameters);
  const limit = messageLimit(view, sender, []);
  if (declared !== undefined && limit > 0 && declared > limit) {
    return { step: step([REPLY_SIZE_TOO_BIG]) };
  }
  return {
    step: step([blacklisted(view) ? REPLY_MAIL_BLACKLISTED : REPLY_MAIL_OK], {
      delay: options.delays?.mail ?? 0,
    }),
    transaction: {
      sender,
      smtpUtf8: smtpUtf8 === "declared",
      recipients: [],
      rcptCount: 0,
      refused: [],
      headers: [],
    },
  };
}

/**
 * RCPT: the step to send and, when qmail's own checks accept it, the
 * recipient the session adds to the transaction once the filter chain agrees.
 */
export function rcptCommand(
  view: SessionView,
  conversation: Conversation,
  argument: string,
): { step: SmtpStep; recipient?: string } {
  const transaction = conversation.transaction;
  if (transaction === undefined) return { step: step([REPLY_MAIL_FIRST]) };
  const refused = (refusal: SmtpStep) => ({ step: refusal });
  const options = view.options;
  transaction.rcptCount++;
  let recipient = parseSmtpAddress(argument, addressOptions(options));
  // Departure: qmail accepts an empty recipient (`RCPT TO:<>`) and later
  // appends envnoathost to nothing; no mail can be meant for it.
  if (recipient === null || recipient === "") {
    return refused(tarpitStep(options.tarpit, [REPLY_SYNTAX], "address too long or malformed"));
  }
  const notUtf8 = utf8AddressRefusal(recipient, transaction.smtpUtf8, "RCPT");
  if (notUtf8 !== undefined) return refused(step([notUtf8]));
  const batv = options.batv;
  if (batv !== undefined) {
    const checked = batv.check(recipient);
    if (checked.signed && checked.ok) {
      recipient = checked.original;
    } else if (transaction.sender === "" && !batv.exempt(recipient, conversation.helo)) {
      return refused(step([checked.signed ? REPLY_BATV_INVALID : REPLY_BATV_UNSIGNED]));
    }
  }
  const relayClient = options.relayClient;
  if (relayClient !== undefined) {
    recipient += relayClient;
  } else if (view.relaying) {
    // AUTH or a tlsclients certificate relays like RELAYCLIENT="".
  } else if (blacklisted(view)) {
    // Seed 000: a BLACKLISTED client's RCPT TO is ignored, every message goes to $BLACKLISTED
    // (dataCommand), so no recipient of its is relayed: "250 2.1.5 I feed spamassassin now!".
  } else if (
    hasRoutingLocalPart(recipient) || !isRcptAllowed(recipient, options.rcptHosts)
  ) {
    // Seed 003: a relay attempt marks the transaction for the whole-message refusal.
    transaction.refused.push({ recipient, check: "rcpthosts" });
    return refused(step([REPLY_NO_GATEWAY], {
      effects: [{
        kind: "log",
        event: "relay-refused",
        text: `relay refused: <${transaction.sender}> to <${recipient}>`,
      }],
    }));
  }
  const limits = [options.maxRecipients];
  if (!view.relaying) limits.push(options.maxUnauthRecipients);
  for (const limit of limits) {
    if (limit !== undefined && limit > 0 && transaction.recipients.length >= limit) {
      return refused(
        tarpitStep(options.tarpit, [REPLY_TOO_MANY_RECIPIENTS], "too many recipients"),
      );
    }
  }
  const tarpit = options.tarpit;
  const ok = blacklisted(view) ? REPLY_RCPT_BLACKLISTED : REPLY_RCPT_OK;
  if (tarpit !== undefined && tarpit.count > 0 && transaction.rcptCount > tarpit.count) {
    return {
      step: tarpitStep(
        tarpit,
        [ok],
        // Seed 000's sample form: TARPIT: <sender> to <recipient> | helo(HELO).
        `<${safeLogText(transaction.sender)}> to <${safeLogText(recipient)}> | helo(${
          safeLogText(conversation.helo ?? "")
        })`,
      ),
      recipient,
    };
  }
  return { step: step([ok], { delay: options.delays?.rcpt ?? 0 }), recipient };
}

/**
 * RFC 3848 transmission types, as qmail-md writes them (docs/patches.md seed 000 md21); with
 * SMTPUTF8 declared, RFC 6531 §3.7.3's UTF8SMTP, UTF8SMTPA, UTF8SMTPS and UTF8SMTPSA.
 */
function protocol(view: SessionView, smtpUtf8: boolean): string {
  const authed = view.authUser !== undefined;
  if (smtpUtf8) return `UTF8SMTP${view.tlsActive ? "S" : ""}${authed ? "A" : ""}`;
  if (view.tlsActive) return authed ? "ESMTPSA" : "ESMTPS";
  return authed ? "ESMTPA" : "SMTP";
}

/** DATA: 354 and a `data` effect carrying the envelope, with the Received line dated `now`. */
export function dataCommand(
  view: SessionView,
  conversation: Conversation,
  now: Date,
  request: FilterRequest,
): TransactionStep {
  const transaction = conversation.transaction;
  if (transaction === undefined) return { step: step([REPLY_MAIL_FIRST]), phase: "command" };
  if (transaction.recipients.length === 0) {
    // qmail-md (docs/patches.md seed 000): a client that sends DATA after every RCPT failed is not
    // listening.
    return { step: step([REPLY_BREAK_RULES], { close: true }), phase: "closed" };
  }
  const options = view.options;
  const received = formatSmtpReceived({
    remoteHost: options.remoteHost,
    helo: conversation.helo,
    remoteInfo: options.remoteInfo,
    remoteIp: options.remoteIp,
    localHost: options.localHost,
    protocol: protocol(view, transaction.smtpUtf8),
  }, now);
  const blacklisted = options.blacklisted !== undefined && view.authUser === undefined
    ? options.blacklisted.recipient
    : undefined;
  const fixed = blacklisted ?? options.rcptToFixed;
  const recipients = fixed === undefined ? transaction.recipients : [fixed];
  return {
    step: step([REPLY_GO_AHEAD], {
      effects: [{
        kind: "data",
        sender: stringToBytes(transaction.sender),
        recipients: recipients.map(stringToBytes),
        received,
        databytes: messageLimit(view, transaction.sender, transaction.recipients),
        maxHops: options.maxHops ?? DEFAULT_MAX_HOPS,
        headers: [],
        request,
      }],
    }),
    phase: "data",
  };
}

/** The reply after the final dot, in qmail's order of checks (§8.3). */
export function endOfDataStep(outcome: DataOutcome): TransactionStep {
  switch (outcome.kind) {
    case "queued":
      return { step: step([formatAcceptedReply(outcome.time, outcome.qp)]), phase: "command" };
    case "hops":
      return { step: step([REPLY_TOO_MANY_HOPS]), phase: "command" };
    case "toobig":
      return { step: step([REPLY_TOO_BIG]), phase: "command" };
    case "barelf":
      return { step: step([REPLY_BARE_LF], { close: true }), phase: "closed" };
    case "queue-error":
      return { step: step([formatQueueErrorReply(outcome.text)]), phase: "command" };
  }
}
