/**
 * The server side of SMTP AUTH (RFC 4954; docs/patches.md seed 000 README.auth, seed 001
 * secauth*): the mechanisms offered, the checks on the AUTH command, and the
 * exchange that follows it, a SASL mechanism (auth/sasl_server.ts) turned
 * into 334 challenges, an `auth` effect for the role to verify, and the
 * final reply.
 */
import { type MechanismName, parseMechanismName } from "../auth/mechanisms.ts";
import { SaslServer, type SaslStep, type VerifyResult } from "../auth/sasl_server.ts";
import type { Conversation, SessionView } from "./conversation.ts";
import type { SmtpAuthOptions } from "./session_options.ts";
import { type SmtpStep, step } from "./session_step.ts";
import {
  REPLY_AUTH_CANCELLED,
  REPLY_AUTH_DECODE,
  REPLY_AUTH_FAILED,
  REPLY_AUTH_IN_TRANSACTION,
  REPLY_AUTH_MECHANISM,
  REPLY_AUTH_NEEDS_TLS,
  REPLY_AUTH_OK,
  REPLY_AUTH_SYNTAX,
  REPLY_AUTH_TEMPORARY,
  REPLY_AUTH_TWICE,
  REPLY_UNIMPLEMENTED,
} from "./replies.ts";

/**
 * The mechanisms offered now: control/auth/smtp before TLS, control/auth/smtps
 * once it is active, none under secauth before TLS or without AUTH at all.
 */
export function offeredMechanisms(view: SessionView): MechanismName[] {
  const auth = view.options.auth;
  if (auth === undefined) return [];
  if (auth.requireTls && !view.tlsActive) return [];
  return view.tlsActive ? auth.tlsMechanisms : auth.plainMechanisms;
}

/** Where an AUTH exchange stands after a step. */
export type AuthProgress =
  /** A 334 challenge, or an `auth` effect out: the exchange goes on. */
  | { kind: "continue"; step: SmtpStep }
  /** 235: the client is `user` from now on. */
  | { kind: "success"; step: SmtpStep; user: string }
  /** The exchange ended without a user; commands are read again. */
  | { kind: "ended"; step: SmtpStep };

/** The answer to an AUTH command: a refusal, or an exchange under way. */
export type AuthBegun =
  | { kind: "refused"; step: SmtpStep }
  | { kind: "started"; exchange: AuthExchange; progress: AuthProgress };

/** AUTH MECHANISM [initial-response] (RFC 4954 §4). */
export function beginAuth(
  view: SessionView,
  conversation: Conversation,
  argument: string,
): AuthBegun {
  const refused = (reply: string): AuthBegun => ({ kind: "refused", step: step([reply]) });
  const auth = view.options.auth;
  if (auth === undefined) return refused(REPLY_UNIMPLEMENTED);
  if (view.authUser !== undefined) return refused(REPLY_AUTH_TWICE);
  if (conversation.transaction !== undefined) return refused(REPLY_AUTH_IN_TRANSACTION);
  const [name, initial, extra] = argument.split(" ").filter((word) => word !== "");
  if (name === undefined || extra !== undefined) return refused(REPLY_AUTH_SYNTAX);
  if (auth.requireTls && !view.tlsActive) return refused(REPLY_AUTH_NEEDS_TLS);
  const mechanism = parseMechanismName(name);
  if (mechanism === undefined || !offeredMechanisms(view).includes(mechanism)) {
    return refused(REPLY_AUTH_MECHANISM);
  }
  const exchange = new AuthExchange(mechanism, auth);
  return { kind: "started", exchange, progress: exchange.start(initial) };
}

function ended(reply: string, delay = 0): AuthProgress {
  return { kind: "ended", step: step([reply], { delay }) };
}

/** One AUTH exchange, from the AUTH command to its final reply. */
export class AuthExchange {
  readonly #sasl: SaslServer;
  readonly #auth: SmtpAuthOptions;
  #verifying = false;

  constructor(mechanism: MechanismName, auth: SmtpAuthOptions) {
    const { challenge, nonce } = auth.newChallenge();
    this.#sasl = new SaslServer(mechanism, {
      challenge,
      nonce,
      hostname: auth.hostname,
      service: "smtp",
    });
    this.#auth = auth;
  }

  /** The mechanism the client chose. */
  get mechanism(): MechanismName {
    return this.#sasl.mechanism;
  }

  /** An `auth` effect is out and the role owes verified(). */
  get verifying(): boolean {
    return this.#verifying;
  }

  /** The AUTH command's initial response, if it had one. */
  start(initial: string | undefined): AuthProgress {
    return this.#progress(this.#sasl.start(initial), 0);
  }

  /** A client line of the exchange. */
  receive(line: string): AuthProgress {
    if (this.#verifying) throw new Error("A line arrived while AUTH was being verified");
    return this.#progress(this.#sasl.receive(line), 0);
  }

  /**
   * The role's answer to the `auth` effect; `failures` counts the recent
   * failures the pause after a 535 grows with.
   */
  verified(result: VerifyResult, failures: number): AuthProgress {
    this.#verifying = false;
    return this.#progress(this.#sasl.verified(result), failures);
  }

  /** A client line over maxcmdlen cannot be a response the mechanism can decode. */
  lineTooLong(): AuthProgress {
    return ended(REPLY_AUTH_DECODE);
  }

  #progress(next: SaslStep, failures: number): AuthProgress {
    switch (next.kind) {
      case "challenge":
        return { kind: "continue", step: step([`334 ${next.data}`]) };
      case "verify":
        this.#verifying = true;
        return {
          kind: "continue",
          step: step([], { effects: [{ kind: "auth", credentials: next.credentials }] }),
        };
      case "success":
        // The role logs the user with the verification it ran.
        return { kind: "success", step: step([REPLY_AUTH_OK]), user: next.user };
      case "failure":
        if (next.reason === "cancelled") return ended(REPLY_AUTH_CANCELLED);
        if (next.reason === "malformed") return ended(REPLY_AUTH_DECODE);
        if (next.reason === "temporary") return ended(REPLY_AUTH_TEMPORARY);
        return ended(REPLY_AUTH_FAILED, this.#failureDelay(failures));
    }
  }

  /** The pause before 535: control/auth/delay or authfaildelay, growing with recent failures. */
  #failureDelay(failures: number): number {
    const base = this.#auth.failDelaySeconds;
    return this.#auth.failureDelay === undefined ? base : this.#auth.failureDelay(failures, base);
  }
}
