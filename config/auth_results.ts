/**
 * Incoming authentication results' control files (config/controls/auth_results.ts):
 * control/authresults turns the verification on, control/authservid names
 * us in the header (default control/me, then the system's host name),
 * control/dmarcreject turns DMARC p=reject into a refusal.
 *
 * Leaf module: plain data; the verification is appliance/scan/auth_results_scan.ts.
 */
import { readControlLine } from "./control.ts";
import { flagDefault } from "./controls.ts";

export interface AuthResultsControls {
  /** control/authresults: set and not 0. */
  enabled: boolean;
  /** control/authservid, else control/me, else the host name. */
  authServId: string;
  /** control/dmarcreject: set and not 0. */
  dmarcReject: boolean;
}

function readFlag(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return flagDefault(name);
  const trimmed = line.trim();
  return trimmed !== "" && trimmed !== "0";
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

export function loadAuthResultsControls(home: string): AuthResultsControls {
  const named = readControlLine(home, "authservid")?.trim();
  const me = readControlLine(home, "me")?.trim();
  return {
    enabled: readFlag(home, "authresults"),
    authServId: named || me || hostName(),
    dmarcReject: readFlag(home, "dmarcreject"),
  };
}
