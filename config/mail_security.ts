/**
 * Modern mail security's control files (config/controls/mail_security.ts):
 * whether remote delivery follows recipient domains' MTA-STS policies
 * (control/mtastsremote, on by default), and this host's own MTA-STS policy
 * (control/mtasts, RFC 8461 §3.2), served by the admin listener and printed
 * by `qmd dns`, and whether remote delivery mails daily TLS-RPT reports
 * (control/tlsrpt, off by default). control/remoteca.pem and
 * control/daneresolvers are read by the remote role itself (no default).
 */
import { ControlError, readControlLine, readControlList } from "./control.ts";
import { flagDefault } from "./controls.ts";

/** What the remote role reads here. */
export interface MailSecurityControls {
  /** mtastsremote: follow recipient domains' MTA-STS policies. */
  mtaStsRemote: boolean;
  /** tlsrpt: mail daily TLS-RPT reports (RFC 8460) to the domains that ask for them. */
  tlsRpt: boolean;
}

/** This host's MTA-STS policy (control/mtasts). */
export interface OwnStsPolicy {
  mode: "enforce" | "testing" | "none";
  /** Seconds (RFC 8461 §3.2: at most 31557600). */
  maxAge: number;
  /** MX patterns, lower case. */
  mx: string[];
}

/** RFC 8461 §3.2's upper bound for max_age. */
const MAX_AGE_LIMIT = 31_557_600;
/** A week: what most published policies use, and long enough to matter (§3.2 suggests weeks). */
export const OWN_POLICY_DEFAULT_MAX_AGE = 604_800;

/** The remote role's mail security controls with their defaults. */
export function loadMailSecurityControls(home: string): MailSecurityControls {
  const flag = (name: string) => {
    const line = readControlLine(home, name);
    return line === undefined ? flagDefault(name) : line.trim() !== "0";
  };
  return { mtaStsRemote: flag("mtastsremote"), tlsRpt: flag("tlsrpt") };
}

/**
 * control/mtasts: `mode: enforce|testing|none`, `max_age: SECONDS`, `mx:
 * PATTERN` lines (one or more); absent = no policy is served. Without mode
 * the policy is "testing" (RFC 8461 §5: start there), without max_age a
 * week, without mx lines control/me. Throws ControlError on a bad line.
 */
export function loadOwnStsPolicy(home: string): OwnStsPolicy | null {
  const entries = readControlList(home, "mtasts");
  if (entries === undefined) return null;
  const file = `${home}/control/mtasts`;
  let mode: OwnStsPolicy["mode"] = "testing";
  let maxAge = OWN_POLICY_DEFAULT_MAX_AGE;
  const mx: string[] = [];
  for (const entry of entries) {
    const match = /^(mode|max_age|mx)\s*:\s*(\S+)$/i.exec(entry.value.trim());
    if (match === null) {
      throw new ControlError(file, entry.line, `expected mode:, max_age: or mx:`);
    }
    const key = match[1].toLowerCase();
    const value = match[2];
    if (key === "mode") {
      const lower = value.toLowerCase();
      if (lower !== "enforce" && lower !== "testing" && lower !== "none") {
        throw new ControlError(file, entry.line, `mode must be enforce, testing or none`);
      }
      mode = lower;
    } else if (key === "max_age") {
      if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_AGE_LIMIT) {
        throw new ControlError(file, entry.line, `max_age must be 0 to ${MAX_AGE_LIMIT} seconds`);
      }
      maxAge = Number(value);
    } else {
      const pattern = value.toLowerCase().replace(/\.$/, "");
      if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(pattern)) {
        throw new ControlError(file, entry.line, `bad mx pattern ${JSON.stringify(value)}`);
      }
      mx.push(pattern);
    }
  }
  if (mx.length === 0) {
    const me = readControlLine(home, "me")?.trim().toLowerCase();
    if (me !== undefined && me !== "") mx.push(me);
  }
  if (mode !== "none" && mx.length === 0) {
    throw new ControlError(file, 0, "no mx: line and no control/me");
  }
  return { mode, maxAge, mx };
}
