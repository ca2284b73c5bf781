/**
 * HOME/acme/: what the ACME renewer keeps between runs, outside control/
 * because none of it is configuration:
 *
 * - account.key: the ACME account's private key (PKCS#8 PEM, mode 0600),
 *   made on the first order; the CA knows the account by it (RFC 8555 §7.3).
 * - state.json: the last attempt, its outcome, the failures in a row (the
 *   retry backoff survives a restart), the next check and why; `qmd showctl`
 *   prints it.
 *
 * The certificate itself goes where every isolate reads it:
 * control/servercert.pem.
 */
import { writeFileAtomically } from "../control_files.ts";

export interface AcmeState {
  /** ISO times. */
  lastAttempt?: string;
  lastOutcome?: "issued" | "failed";
  /** The last failure's reason, until an attempt succeeds. */
  lastError?: string;
  /** Failed attempts since the last success. */
  failures: number;
  lastFailure?: string;
  lastIssued?: string;
  /** When an order is due, and why (acme_schedule.ts). */
  nextOrder?: string;
  reason?: string;
  /** When the renewer looks again. */
  nextCheck?: string;
  /** The names control/acme asked for at the last check. */
  names?: string[];
}

export function acmeStateDirectory(home: string): string {
  return `${home}/acme`;
}

export function accountKeyPath(home: string): string {
  return `${acmeStateDirectory(home)}/account.key`;
}

function statePath(home: string): string {
  return `${acmeStateDirectory(home)}/state.json`;
}

/** state.json; undefined when there is none yet. A file that does not parse counts as none. */
export function readAcmeState(home: string): AcmeState | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(statePath(home));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const state = JSON.parse(text) as AcmeState;
    return typeof state.failures === "number" ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces state.json (through a temporary file and a rename). */
export async function writeAcmeState(home: string, state: AcmeState): Promise<void> {
  await Deno.mkdir(acmeStateDirectory(home), { recursive: true, mode: 0o700 });
  writeFileAtomically(
    statePath(home),
    new TextEncoder().encode(JSON.stringify(state, null, 2)),
    0o600,
  );
}

/** What `qmd showctl` prints about the renewer: its last attempt and the next renewal. */
export function describeAcmeState(state: AcmeState | undefined): string[] {
  if (state === undefined) return ["no attempt yet (the acme isolate starts with qmd start)"];
  const lines: string[] = [];
  if (state.names !== undefined) lines.push(`names: ${state.names.join(", ")}`);
  if (state.lastAttempt === undefined) {
    lines.push("last attempt: none yet");
  } else if (state.lastOutcome === "failed") {
    lines.push(
      `last attempt: ${state.lastAttempt} failed (${state.failures} in a row): ${state.lastError}`,
    );
  } else {
    lines.push(`last attempt: ${state.lastAttempt} issued a certificate`);
  }
  if (state.nextOrder !== undefined) {
    lines.push(`next renewal: ${state.nextOrder} (${state.reason ?? "scheduled"})`);
  }
  if (state.nextCheck !== undefined) lines.push(`next check: ${state.nextCheck}`);
  return lines;
}
