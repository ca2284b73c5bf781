/**
 * Incoming authentication results' control files (config/controls/auth_results.ts):
 * control/authresults turns the verification off (0) or on for every client
 * that does not relay, loopback ones too (not 0); absent, it is on for
 * clients that do not relay except loopback ones, control/authservid names
 * us in the header (default control/me, then the system's host name),
 * control/dmarcreject turns DMARC p=reject into a refusal.
 *
 * Leaf module: plain data; the verification is appliance/scan/auth_results_scan.ts.
 */
import { ControlError, orDefault, readControlLine } from "./control.ts";
import { flagDefault } from "./controls.ts";

export interface AuthResultsControls {
  /** control/authresults: absent, or set and not 0. */
  enabled: boolean;
  /**
   * Loopback clients (127.0.0.0/8, ::1) verified too: only when control/authresults
   * says so. Absent, mail from this box's own programs is left alone (and
   * asks no DNS).
   */
  loopback: boolean;
  /** control/authservid, else control/me, else the host name. */
  authServId: string;
  /** control/dmarcreject: set and not 0. */
  dmarcReject: boolean;
}

/** A flag file's value: set and not 0; absent, the table's default. */
function flagValue(name: string, line: string | undefined): boolean {
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

/** RFC 8601 §2.2: the authserv-id is a `value`; qmd takes a token (a host name, usually). */
const AUTHSERV_ID = /^[\x21-\x7e]+$/;

/** control/authservid's line, refused unless it is one token. */
function readAuthServId(home: string): string | undefined {
  const named = readControlLine(home, "authservid")?.trim();
  if (named !== undefined && named !== "" && (!AUTHSERV_ID.test(named) || /[;()"]/.test(named))) {
    throw new ControlError(
      `${home}/control/authservid`,
      1,
      `expected a host name or other token, found ${JSON.stringify(named)}`,
    );
  }
  return named;
}

export function loadAuthResultsControls(home: string): AuthResultsControls {
  // A broken file is reported by a reload (loadAllControls) and read as absent meanwhile.
  const named = orDefault(() => readAuthServId(home), undefined);
  const me = readControlLine(home, "me")?.trim();
  const authResults = readControlLine(home, "authresults");
  const enabled = flagValue("authresults", authResults);
  return {
    enabled,
    // Loopback clients only when the file says so; absent, they are left alone.
    loopback: authResults !== undefined && enabled,
    authServId: named || me || hostName(),
    dmarcReject: flagValue("dmarcreject", readControlLine(home, "dmarcreject")),
  };
}
