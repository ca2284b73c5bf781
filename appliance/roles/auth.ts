/**
 * The auth role: checks SMTP AUTH credentials for the smtpd isolates, the
 * part qmail-smtpd's auth patches hand to checkpassword. It alone reads the
 * account database and runs control/checkpassword, so an smtpd isolate never
 * sees a password hash or a challenge secret (privilege separation, as
 * qmail-smtpd runs checkpassword as a separate program). At start and on
 * every reload it also publishes which challenge mechanisms can succeed
 * (net/auth_capabilities.ts), which the listeners advertise by.
 */
import { type FromRole, rolePort, type ToRole } from "../ipc.ts";
import { logEvent, setLogSink } from "../log.ts";
import { readControlLine } from "../../config/control.ts";
import {
  accountsVerifier,
  type AuthVerifier,
  chainVerifiers,
  challengeAuthSupport,
  checkpasswordVerifier,
} from "../auth/verifier.ts";
import type { VerifyResult } from "../auth/sasl_server.ts";
import { AuthCapabilities } from "../net/auth_capabilities.ts";

const post = (message: FromRole) => rolePort().postMessage(message);

/** For SMTP (no home needed) and for POP3 (the home is needed to find the Maildir). */
let verifiers: { smtp: AuthVerifier; pop3: AuthVerifier } | undefined;
let home = "";
let capabilities: AuthCapabilities | undefined;

/** control/checkpassword as argv, or undefined. */
function checkpasswordArgv(): string[] | undefined {
  const line = readControlLine(home, "checkpassword")?.trim();
  return line === undefined || line === "" ? undefined : line.split(/\s+/);
}

/**
 * Tells the listeners which challenge mechanisms can succeed now, so they
 * advertise no CRAM or DIGEST-MD5 that every mailbox would fail.
 */
function publishCapabilities(): void {
  if (capabilities === undefined) return;
  try {
    capabilities.publish(challengeAuthSupport(home, checkpasswordArgv() !== undefined));
  } catch (error) {
    logEvent(
      "auth_error",
      `auth: cannot tell which AUTH mechanisms can succeed: ${(error as Error).message}`,
    );
  }
}

/** The verifiers for the current controls: accounts.sqlite, then control/checkpassword. */
function loadVerifiers(): { smtp: AuthVerifier; pop3: AuthVerifier } {
  const argv = checkpasswordArgv();
  return {
    smtp: chainVerifiers(
      accountsVerifier(home),
      argv === undefined ? undefined : checkpasswordVerifier(argv),
    ),
    pop3: chainVerifiers(
      accountsVerifier(home),
      argv === undefined ? undefined : checkpasswordVerifier(argv, { reportHome: true }),
    ),
  };
}

async function verify(message: ToRole & { type: "auth-verify" }): Promise<void> {
  let result: VerifyResult;
  try {
    verifiers ??= loadVerifiers();
    result = await (message.home ? verifiers.pop3 : verifiers.smtp).verify(message.credentials);
  } catch (error) {
    logEvent("auth_error", `auth: verification failed: ${(error as Error).message}`);
    result = { ok: false, temporary: true };
  }
  post({
    type: "auth-result",
    request: message.request,
    worker: message.worker,
    role: message.role,
    result,
  });
}

/** Runs the role inside a Worker. */
export function runAuthWorker(): void {
  setLogSink((record) => post({ type: "log", record }), "auth");
  rolePort().onmessage = (event: MessageEvent<ToRole>) => {
    const message = event.data;
    if (message.type === "start") {
      home = message.settings.home;
      const buffer = message.settings.options.authCapabilities;
      if (buffer instanceof SharedArrayBuffer) capabilities = new AuthCapabilities(buffer);
      publishCapabilities();
      post({ type: "ready" });
    } else if (message.type === "auth-verify") {
      void verify(message);
    } else if (message.type === "reload") {
      verifiers?.smtp.close?.();
      verifiers?.pop3.close?.();
      verifiers = undefined;
      publishCapabilities();
      post({ type: "reloaded", round: message.round, errors: [] });
    } else if (message.type === "drain") {
      // Sessions still draining may AUTH; this isolate serves them until it is ended.
      post({ type: "drained" });
    }
  };
}

if (import.meta.main) runAuthWorker();
