/**
 * The auth role: checks SMTP AUTH credentials for the smtpd isolates, the
 * part qmail-smtpd's auth patches hand to checkpassword. It alone reads the
 * account database and runs control/checkpassword, so an smtpd isolate never
 * sees a password hash or a challenge secret (privilege separation, as
 * qmail-smtpd runs checkpassword as a separate program). At start and on
 * every reload it also publishes which challenge mechanisms can succeed
 * (net/auth_capabilities.ts), which the listeners advertise by.
 */
import { type FromRole, rolePort, settingsFor, type ToRole } from "../ipc.ts";
import { logEvent } from "../log.ts";
import { readCheckpassword } from "../../config/checkpassword.ts";
import {
  accountsVerifier,
  type AuthVerifier,
  chainVerifiers,
  challengeAuthSupport,
  checkpasswordVerifier,
} from "../auth/verifier.ts";
import type { VerifyResult } from "../auth/sasl_server.ts";
import { AuthCapabilities } from "../net/auth_capabilities.ts";
import { runRoleLoop } from "./worker_loop.ts";
import { answerGreylistLookup, GreylistStore } from "../accounts/greylist_store.ts";
import type { LookupAnswer } from "../filters/filter.ts";

const post = (message: FromRole) => rolePort().postMessage(message);

/** For SMTP (no home needed) and for POP3 (the home is needed to find the Maildir). */
let verifiers: { smtp: AuthVerifier; pop3: AuthVerifier } | undefined;
let home = "";
let capabilities: AuthCapabilities | undefined;
/** Greylisting's triplets, opened for writing at the first greylist lookup. */
let greylist: GreylistStore | undefined;

/**
 * Tells the listeners which challenge mechanisms can succeed now, so they
 * advertise no CRAM or DIGEST-MD5 that every mailbox would fail.
 */
function publishCapabilities(): void {
  if (capabilities === undefined) return;
  try {
    capabilities.publish(challengeAuthSupport(home, readCheckpassword(home) !== undefined));
  } catch (error) {
    logEvent(
      "auth_error",
      `auth: cannot tell which AUTH mechanisms can succeed: ${(error as Error).message}`,
    );
  }
}

/** The verifiers for the current controls: accounts.sqlite, then control/checkpassword. */
function loadVerifiers(): { smtp: AuthVerifier; pop3: AuthVerifier } {
  const argv = readCheckpassword(home);
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

/** A greylist lookup from smtpd: record the try, say whether the triplet has passed. */
function answerLookup(message: ToRole & { type: "lookup" }): void {
  const lookup = message.lookup;
  let answer: LookupAnswer;
  try {
    if (lookup.kind !== "greylist") throw new Error(`auth does not answer ${lookup.kind}`);
    greylist ??= GreylistStore.open(home);
    answer = answerGreylistLookup(greylist, lookup, Math.floor(Date.now() / 1000));
  } catch (error) {
    logEvent("auth_error", `auth: greylist lookup failed: ${(error as Error).message}`);
    answer = { kind: "temporary", reason: (error as Error).message };
  }
  post({
    type: "lookup-result",
    request: message.request,
    worker: message.worker,
    role: message.role,
    answer,
  });
}

/** Runs the role inside a Worker. */
export function runAuthWorker(): void {
  runRoleLoop("auth", {
    start: (message) => {
      const settings = settingsFor(message.settings, "auth");
      home = settings.home;
      capabilities = new AuthCapabilities(settings.options.authCapabilities);
      publishCapabilities();
      post({ type: "ready" });
    },
    "auth-verify": (message) => void verify(message),
    lookup: answerLookup,
    reload: (message) => {
      verifiers?.smtp.close?.();
      verifiers?.pop3.close?.();
      verifiers = undefined;
      greylist?.close();
      greylist = undefined;
      publishCapabilities();
      post({ type: "reloaded", round: message.round, errors: [] });
    },
    // Sessions still draining may AUTH; this isolate serves them until it is ended.
    drain: () => post({ type: "drained" }),
  }, post);
}

if (import.meta.main) runAuthWorker();
