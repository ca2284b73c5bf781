/**
 * qmail-popup's AUTHORIZATION state (docs/queue-format.md §7.1) with docs/patches.md seed 000's
 * additions: USER/PASS, APOP, AUTH with the SASL mechanisms (RFC 5034, RFC
 * 1734), CAPA, STLS (RFC 2595), NOOP and QUIT. Pure: credentials go out as an
 * `auth` effect and come back through verified(). The session (session.ts)
 * turns each outcome into its step: on `authenticated` it opens the Maildir,
 * on `close` it ends.
 *
 * Plain-text passwords are refused unless the role allows them or TLS is
 * active (issue 7); with loginNeedsTls (control/pop3clientcert) every login
 * waits for TLS. A failed login is answered after the role's delay.
 */
import { decodeUtf8 } from "../auth/base64.ts";
import { type MechanismName, parseMechanismName } from "../auth/mechanisms.ts";
import {
  type Credentials,
  SaslServer,
  type SaslStep,
  type VerifyResult,
} from "../auth/sasl_server.ts";
import { formatCapa } from "./capa.ts";
import {
  REPLY_AUTH_BLOCKED,
  REPLY_AUTH_CANCELLED,
  REPLY_AUTH_FAILED,
  REPLY_AUTH_MALFORMED,
  REPLY_AUTH_MECHANISM,
  REPLY_AUTH_TEMPORARY,
  REPLY_AUTHORIZATION_FIRST,
  REPLY_LOGIN_NEEDS_CERTIFICATE,
  REPLY_OK,
  REPLY_PLAINTEXT_REFUSED,
  REPLY_SYNTAX,
  REPLY_TLS_ACTIVE,
  REPLY_TLS_READY,
  REPLY_USER_FIRST,
} from "./replies.ts";
import type { Pop3SessionOptions } from "./session_options.ts";
import { type Pop3Step, step } from "./session_step.ts";

export type AuthorizationPhase =
  /** Waiting for a command: USER, PASS, APOP, AUTH, CAPA, STLS, NOOP, QUIT. */
  | "authorization"
  /** An AUTH exchange: client lines are SASL responses. */
  | "auth"
  /** USER/PASS or APOP credentials out for verification: verified() is owed. */
  | "verifying"
  /** STLS answered: tlsStarted() is owed. */
  | "starttls";

/** Where an AUTHORIZATION command leaves the session. */
export type AuthorizationOutcome =
  /** Still authorizing (perhaps in another of its phases): write this step. */
  | { kind: "step"; step: Pop3Step }
  /** The credentials were accepted for this user: open the Maildir. */
  | { kind: "authenticated"; user: string }
  /** The session ends after these replies and this pause. */
  | { kind: "close"; replies: string[]; delay: number };

/** A credential string: UTF-8 when the bytes are valid UTF-8, else one char per byte. */
function credentialText(text: string): string {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return decodeUtf8(bytes) ?? text;
}

function reply(replies: string[], effects: Pop3Step["effects"] = []): AuthorizationOutcome {
  return { kind: "step", step: step(replies, { effects }) };
}

function close(replies: string[], delay = 0): AuthorizationOutcome {
  return { kind: "close", replies, delay };
}

export class Pop3Authorization {
  readonly #options: Pop3SessionOptions;
  #phase: AuthorizationPhase = "authorization";
  #tlsActive: boolean;
  /** USER's argument, waiting for PASS. */
  #user: string | undefined;
  #sasl: SaslServer | undefined;
  /** The SASL exchange sent its credentials and waits for verified(). */
  #saslVerifying = false;

  constructor(options: Pop3SessionOptions) {
    this.#options = options;
    this.#tlsActive = options.tls.active;
  }

  get phase(): AuthorizationPhase {
    return this.#phase;
  }

  get tlsActive(): boolean {
    return this.#tlsActive;
  }

  /** Credentials went out in an `auth` effect and verified() is owed. */
  get verifying(): boolean {
    return this.#phase === "verifying" || (this.#phase === "auth" && this.#saslVerifying);
  }

  /** One command by its lower-case verb, in the "authorization" phase. */
  command(verb: string, argument: string): AuthorizationOutcome {
    switch (verb) {
      case "user":
        // qmail-popup: no name is a syntax error; a name is remembered for PASS.
        if (!this.#loginOpen()) return reply([REPLY_LOGIN_NEEDS_CERTIFICATE]);
        if (!this.#plaintextAllowed()) return reply([REPLY_PLAINTEXT_REFUSED]);
        if (argument === "") return reply([REPLY_SYNTAX]);
        this.#user = credentialText(argument);
        return reply([REPLY_OK]);
      case "pass": {
        if (!this.#loginOpen()) return reply([REPLY_LOGIN_NEEDS_CERTIFICATE]);
        if (!this.#plaintextAllowed()) return reply([REPLY_PLAINTEXT_REFUSED]);
        const user = this.#user;
        if (user === undefined) return reply([REPLY_USER_FIRST]);
        return this.#verify({
          kind: "password",
          mechanism: "USER",
          user,
          password: credentialText(argument),
        });
      }
      case "apop": {
        if (!this.#loginOpen()) return reply([REPLY_LOGIN_NEEDS_CERTIFICATE]);
        // qmail-popup: `APOP name digest`, split at the first space.
        const space = argument.indexOf(" ");
        if (space <= 0) return reply([REPLY_SYNTAX]);
        const digest = argument.slice(space + 1);
        if (digest === "") return reply([REPLY_SYNTAX]);
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
        return reply(formatCapa(this.#options.implementation ?? "qmd", {
          mechanisms: this.#mechanisms(),
          user: this.#loginOpen() && this.#plaintextAllowed(),
          stls: this.#options.tls.offered && !this.#tlsActive,
        }));
      case "stls":
        return this.#startTls(argument);
      case "noop":
        return reply([REPLY_OK]);
      case "quit":
        return close([REPLY_OK]);
      default:
        return reply([REPLY_AUTHORIZATION_FIRST]);
    }
  }

  /** A client line in the "auth" phase: the next SASL response. */
  saslLine(line: string): AuthorizationOutcome {
    const sasl = this.#sasl!;
    if (this.#saslVerifying) throw new Error("A line arrived while AUTH was being verified");
    return this.#saslStep(sasl.receive(line), 1);
  }

  /** A SASL response over the line limit: the exchange fails as malformed. */
  saslLineTooLong(): AuthorizationOutcome {
    return this.#saslEnd(REPLY_AUTH_MALFORMED);
  }

  /**
   * The handshake after STLS succeeded. RFC 2595 §4: the client starts over,
   * so USER is forgotten; the TLS mechanisms apply and STLS is gone from CAPA.
   */
  tlsStarted(): void {
    this.#tlsActive = true;
    this.#user = undefined;
    this.#phase = "authorization";
  }

  /**
   * The answer to an `auth` effect. `failures` counts the recent failures of
   * this address or of this name at it, this one included (for the pause);
   * `blocked` means one of them is blocked: refuse and close.
   */
  verified(result: VerifyResult, failures: number, blocked: boolean): AuthorizationOutcome {
    const sasl = this.#phase === "auth" && this.#saslVerifying ? this.#sasl : undefined;
    this.#saslVerifying = false;
    if (blocked) return close([REPLY_AUTH_BLOCKED]);
    if (sasl !== undefined) return this.#saslStep(sasl.verified(result), failures);
    if (result.ok) return this.#authenticated(result.user);
    if (result.temporary) return close([REPLY_AUTH_TEMPORARY]);
    return this.#loginFailed(failures);
  }

  #plaintextAllowed(): boolean {
    return this.#options.plaintextAllowed || this.#tlsActive;
  }

  /** Logins are taken now: always, or with loginNeedsTls once TLS is active. */
  #loginOpen(): boolean {
    return this.#tlsActive || !this.#options.loginNeedsTls;
  }

  /** The mechanisms AUTH and CAPA offer now: by TLS state, PLAIN/LOGIN only where allowed. */
  #mechanisms(): MechanismName[] {
    if (!this.#loginOpen()) return [];
    const all = this.#tlsActive ? this.#options.mechanismsTls : this.#options.mechanisms;
    if (this.#plaintextAllowed()) return all;
    return all.filter((name) => name !== "PLAIN" && name !== "LOGIN");
  }

  #verify(credentials: Credentials): AuthorizationOutcome {
    this.#phase = "verifying";
    this.#user = undefined;
    return reply([], [{ kind: "auth", credentials }]);
  }

  #authenticated(user: string): AuthorizationOutcome {
    this.#sasl = undefined;
    return { kind: "authenticated", user };
  }

  /**
   * qmail-popup runs checkpassword once and exits when it refuses (§7.1);
   * qmd answers after the failure delay.
   */
  #loginFailed(failures: number): AuthorizationOutcome {
    const base = this.#options.failDelaySeconds ?? 0;
    const failureDelay = this.#options.failureDelay;
    return close(
      [REPLY_AUTH_FAILED],
      failureDelay === undefined ? base : failureDelay(failures, base),
    );
  }

  /** STLS (RFC 2595 §4): only offered with a certificate, only before TLS. */
  #startTls(argument: string): AuthorizationOutcome {
    if (this.#tlsActive) return reply([REPLY_TLS_ACTIVE]);
    if (!this.#options.tls.offered) return reply([REPLY_AUTHORIZATION_FIRST]);
    if (argument !== "") return reply([REPLY_SYNTAX]);
    this.#phase = "starttls";
    return reply([REPLY_TLS_READY], [{ kind: "starttls" }]);
  }

  /**
   * AUTH MECHANISM [initial-response] (RFC 5034 §4). Without a mechanism the
   * list of mechanisms, as pre-CAPA clients ask for it (RFC 1734 clients such
   * as Outlook send a bare AUTH).
   */
  #auth(argument: string): AuthorizationOutcome {
    const words = argument.split(" ").filter((word) => word !== "");
    const mechanisms = this.#mechanisms();
    if (words.length === 0) return reply([REPLY_OK, ...mechanisms, "."]);
    if (words.length > 2) return reply([REPLY_SYNTAX]);
    const mechanism = parseMechanismName(words[0]);
    if (mechanism === undefined || !mechanisms.includes(mechanism)) {
      const all = this.#tlsActive ? this.#options.mechanismsTls : this.#options.mechanisms;
      if (mechanism !== undefined && all.includes(mechanism)) {
        return reply([this.#loginOpen() ? REPLY_PLAINTEXT_REFUSED : REPLY_LOGIN_NEEDS_CERTIFICATE]);
      }
      return reply([REPLY_AUTH_MECHANISM]);
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

  #saslStep(next: SaslStep, failures: number): AuthorizationOutcome {
    switch (next.kind) {
      case "challenge":
        // RFC 5034 §4: "+" SP base64; an empty challenge is "+ ".
        return reply([`+ ${next.data}`]);
      case "verify":
        this.#saslVerifying = true;
        return reply([], [{ kind: "auth", credentials: next.credentials }]);
      case "success":
        return this.#authenticated(next.user);
      case "failure":
        switch (next.reason) {
          case "cancelled":
            return this.#saslEnd(REPLY_AUTH_CANCELLED);
          case "malformed":
            return this.#saslEnd(REPLY_AUTH_MALFORMED);
          case "temporary":
            return close([REPLY_AUTH_TEMPORARY]);
          case "rejected":
            return this.#loginFailed(failures);
        }
    }
  }

  /** An AUTH exchange that checked no credentials ends; the client may try again. */
  #saslEnd(text: string): AuthorizationOutcome {
    this.#sasl = undefined;
    this.#saslVerifying = false;
    this.#phase = "authorization";
    return reply([text]);
  }
}
