/**
 * clamd's control files (docs/patches.md seeds 000 and 001): control/clamd
 * names clamd's TCP address (`ip:port`, `[ipv6]:port`) or the absolute path
 * of its Unix socket (md24 added the socket form), control/timeoutclamd how
 * long to wait for it, control/clamdfailreject whether a message is refused
 * temporarily when clamd cannot scan it. NOCLAMD turns the scan off for a
 * client; CLAMDFAILREJECT overrides clamdfailreject.
 *
 * Leaf module: plain data in and out; the scan itself is
 * appliance/scan/clamd_scan.ts.
 */
import { ControlError, orDefault, readControlLine, readControlNumber } from "./control.ts";
import { flagDefault } from "./controls.ts";

/** Where clamd listens. */
export type ClamdTarget =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string };

export interface ClamdControls {
  /** control/clamd, or undefined when absent or empty (no scanning). */
  target: ClamdTarget | undefined;
  /** control/timeoutclamd, seconds. */
  timeoutSeconds: number;
  /** control/clamdfailreject: set and not 0. */
  failReject: boolean;
}

/** One client's clamd scan. */
export interface ClamdSettings {
  target: ClamdTarget;
  timeoutSeconds: number;
  failReject: boolean;
}

export function loadClamdControls(home: string): ClamdControls {
  const line = readControlLine(home, "clamd")?.trim();
  const target = line === undefined || line === ""
    ? undefined
    : orDefault(() => parseClamdTarget(`${home}/control/clamd`, line), undefined);
  const failLine = readControlLine(home, "clamdfailreject");
  return {
    target,
    timeoutSeconds: readControlNumber(home, "timeoutclamd"),
    failReject: failLine === undefined ? flagDefault("clamdfailreject") : isSet(failLine),
  };
}

/**
 * `ip:port`, `[ipv6]:port` or `/absolute/socket/path`. A host name is
 * refused: the seeds give an address, and a DNS lookup per message would put
 * the resolver in front of every DATA.
 */
export function parseClamdTarget(path: string, text: string): ClamdTarget {
  if (text.startsWith("/")) return { kind: "unix", path: text };
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port < 1 || port > 65535) {
    throw new ControlError(
      path,
      1,
      `expected ip:port or the absolute path of clamd's socket, found ${JSON.stringify(text)}`,
    );
  }
  return { kind: "tcp", host: match[1] ?? match[2], port };
}

/**
 * The scan for a client, or undefined when it is off: no control/clamd, or
 * NOCLAMD set (to anything, as in seed 001). CLAMDFAILREJECT set overrides
 * clamdfailreject: "0" is off, anything else (empty too) on, as config/smtpd.ts
 * reads aio's other environment toggles.
 */
export function clamdSettings(
  controls: ClamdControls,
  env: Readonly<Record<string, string | undefined>>,
): ClamdSettings | undefined {
  if (controls.target === undefined || env.NOCLAMD !== undefined) return undefined;
  const override = env.CLAMDFAILREJECT;
  return {
    target: controls.target,
    timeoutSeconds: controls.timeoutSeconds,
    failReject: override === undefined ? controls.failReject : override.trim() !== "0",
  };
}

/** The socket path smtpd must be allowed to open, if clamd listens on one. */
export function clamdSocketPath(controls: ClamdControls): string | undefined {
  return controls.target?.kind === "unix" ? controls.target.path : undefined;
}

/** A set-or-not control file: empty or "0" is off. */
function isSet(value: string): boolean {
  const trimmed = value.trim();
  return trimmed !== "" && trimmed !== "0";
}
