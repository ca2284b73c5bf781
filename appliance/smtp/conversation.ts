/**
 * What the SMTP session (session.ts) shares with the handlers of its verbs
 * (ehlo.ts, transaction.ts, auth_exchange.ts): the conversation that
 * survives from one command to the next, and a read-only view of what the
 * session knows about its connection. A handler may change the conversation
 * it is given; everything else it reports back in the step it returns.
 */
import type { RefusedRecipient } from "../filters/filter.ts";
import type { SmtpSessionOptions } from "./session_options.ts";

/** One mail transaction (RFC 5321 §3.3), from MAIL to the end of DATA. */
export interface Transaction {
  /** MAIL FROM, one char per byte. */
  sender: string;
  /** MAIL FROM carried SMTPUTF8 (RFC 6531 §3.4): UTF-8 addresses are allowed. */
  smtpUtf8: boolean;
  recipients: string[];
  /** RCPT commands seen, accepted or not (for the tarpit). */
  rcptCount: number;
  /**
   * Recipients refused by rcpthosts or a filter check, with the check's name:
   * seed 003's whole-message refusal at DATA (filters/whole_message.ts).
   */
  refused: RefusedRecipient[];
  /** Header lines the filter checks of MAIL and RCPT added (filter.ts pass verdicts). */
  headers: string[];
  /**
   * A check refused the whole transaction (scope "transaction", seed 003's
   * whole-message refusal): every later RCPT and the DATA get this reply.
   */
  refusal?: readonly string[];
}

/** What survives from one command to the next. */
export interface Conversation {
  /** The last HELO/EHLO argument. */
  helo: string | undefined;
  transaction: Transaction | undefined;
  /** Header lines the filter checks of that HELO added. */
  heloHeaders?: string[];
}

/** The session as a verb handler sees it. */
export interface SessionView {
  /** The session's options, every address part already one char per byte. */
  readonly options: SmtpSessionOptions;
  /** STARTTLS done, or SMTPS. */
  readonly tlsActive: boolean;
  /** The AUTH user once authenticated. */
  readonly authUser: string | undefined;
  /** RELAYCLIENT, a successful AUTH or a tlsclients certificate (qmail-smtpd's relayclient). */
  readonly relaying: boolean;
}
