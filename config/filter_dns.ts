/**
 * The control files of the DNS-based checks (appliance/filters/ rbl, spf,
 * mfcheck, mxblacklist, helodnschk, antispoofing; docs/patches.md seeds 000,
 * 001 and 004), read once per reload as plain data. Each check's settings
 * for one client (with the environment switches) come from these in
 * appliance/policy/dns_checks.ts.
 *
 * | check        | files (default)                                        |
 * | ------------ | ------------------------------------------------------ |
 * | rbl          | rblsmtpd, rblsmtpd.submission, rblsmtpd.smtps (none)   |
 * | spf          | spfbehavior (0)                                        |
 * | mfcheck      | mfcheck (0), timeoutmfcheck (60), mxblacklist (none)   |
 * | helodnschk   | helodnschkext (0), helodnschkint (0)                   |
 * | antispoofing | antispoofing (none)                                    |
 *
 * A broken file is a ControlError naming the file and line.
 */
import {
  ControlError,
  type ListEntry,
  readControlLine,
  readControlList,
  readControlNumber,
} from "./control.ts";
import { flagDefault } from "./controls.ts";
import { asciiLower } from "./ascii.ts";
import { loadRblControls, type RblControls } from "./rblsmtpd.ts";

/** A set-or-not file: present and not empty or "0"; absent gives the table's default. */
function readFlag(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return flagDefault(name);
  const trimmed = line.trim();
  return trimmed !== "" && trimmed !== "0";
}

/** A number file limited to 0..max (spfbehavior 0–3, mfcheck 0–2). */
function readLevel(home: string, name: string, max: number): number {
  const value = readControlNumber(home, name);
  if (value < 0 || value > max) {
    throw new ControlError(`control/${name}`, 1, `expected 0 to ${max}, found ${value}`);
  }
  return value;
}

export interface SpfControls {
  /** control/spfbehavior, 0 to 3 (seed 004). */
  behavior: number;
}

export function loadSpfControls(home: string): SpfControls {
  return { behavior: readLevel(home, "spfbehavior", 3) };
}

export interface MfcheckControls {
  /** control/mfcheck, 0 to 2. */
  level: number;
  /** control/timeoutmfcheck, seconds. */
  timeoutSeconds: number;
  /** control/mxblacklist, addresses in lower case. */
  mxBlacklist: string[];
}

export function loadMfcheckControls(home: string): MfcheckControls {
  const mxBlacklist = (readControlList(home, "mxblacklist") ?? []).map((entry) => {
    const address = entry.value.trim().toLowerCase().replace(/^\[|\]$/g, "");
    if (!/^[0-9a-f:.]+$/.test(address) || !/[.:]/.test(address)) {
      throw new ControlError(
        "control/mxblacklist",
        entry.line,
        `not an IP address: ${entry.value}`,
      );
    }
    return address;
  });
  return {
    level: readLevel(home, "mfcheck", 2),
    timeoutSeconds: readControlNumber(home, "timeoutmfcheck"),
    mxBlacklist,
  };
}

export interface HeloDnsCheckControls {
  /** control/helodnschkext: check clients without RELAYCLIENT. */
  external: boolean;
  /** control/helodnschkint: check RELAYCLIENT clients. */
  internal: boolean;
}

export function loadHeloDnsCheckControls(home: string): HeloDnsCheckControls {
  return {
    external: readFlag(home, "helodnschkext"),
    internal: readFlag(home, "helodnschkint"),
  };
}

/** One IPv4 network, as numbers. */
export interface Ipv4Network {
  address: number;
  mask: number;
}

/** One line of control/antispoofing. */
export interface AntispoofingRule {
  /** An address (`dan@foo.com`) or a domain (`bar.org`), lower case. */
  sender: string;
  networks: Ipv4Network[];
  /** As written, for the trace. */
  text: string;
  line: number;
}

function octets(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length > 4) return undefined;
  if (!parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.map(Number);
}

function toNumber(parts: number[]): number {
  return parts.reduce((value, part) => ((value << 8) | part) >>> 0, 0);
}

/**
 * One network as seed 001 writes it: `a.b.c.d/m.m.m.m` as written; fewer
 * than four parts (`x.y.z`) leave the missing parts out of the mask
 * (`x.y.z.0/255.255.255.0`); a full address without a mask has as many host
 * bits as it has zero bits on the right (`x.y.z.128` is
 * `/255.255.255.128`), the seed's general rule (its other two examples
 * disagree with it; docs/patches.md). Undefined when it is not a network.
 */
export function parseNetwork(text: string): Ipv4Network | undefined {
  const [addressText, maskText, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const parts = octets(addressText);
  if (parts === undefined) return undefined;
  const address = toNumber([...parts, 0, 0, 0].slice(0, 4));
  let mask: number;
  if (maskText !== undefined) {
    const maskParts = octets(maskText);
    if (maskParts === undefined || maskParts.length !== 4) return undefined;
    mask = toNumber(maskParts);
  } else if (parts.length < 4) {
    mask = (0xffffffff << (8 * (4 - parts.length))) >>> 0;
  } else {
    let zeros = 0;
    while (zeros < 32 && ((address >>> zeros) & 1) === 0) zeros++;
    mask = zeros >= 32 ? 0 : (0xffffffff << zeros) >>> 0;
  }
  return { address: (address & mask) >>> 0, mask };
}

export function parseAntispoofing(entries: readonly ListEntry[], path: string): AntispoofingRule[] {
  return entries.map(({ value, line }) => {
    const colon = value.indexOf(":");
    const sender = colon < 0 ? "" : asciiLower(value.slice(0, colon).trim());
    if (sender === "" || /\s/.test(sender)) {
      throw new ControlError(path, line, `expected "address-or-domain: networks", found ${value}`);
    }
    const words = value.slice(colon + 1).trim().split(/\s+/).filter((word) => word !== "");
    const networks = words.map((word) => {
      const network = parseNetwork(word);
      if (network === undefined) throw new ControlError(path, line, `not a network: ${word}`);
      return network;
    });
    if (networks.length === 0) throw new ControlError(path, line, `no networks for ${sender}`);
    return { sender, networks, text: value, line };
  });
}

export function loadAntispoofingControls(home: string): AntispoofingRule[] {
  const entries = readControlList(home, "antispoofing") ?? [];
  return parseAntispoofing(entries, "control/antispoofing");
}

/** Every file above at once (the loader-defaults test reads them together). */
export interface FilterDnsControls {
  rbl: RblControls;
  spf: SpfControls;
  mfcheck: MfcheckControls;
  heloDnsCheck: HeloDnsCheckControls;
  antispoofing: AntispoofingRule[];
}

export function loadFilterDnsControls(home: string): FilterDnsControls {
  return {
    rbl: loadRblControls(home),
    spf: loadSpfControls(home),
    mfcheck: loadMfcheckControls(home),
    heloDnsCheck: loadHeloDnsCheckControls(home),
    antispoofing: loadAntispoofingControls(home),
  };
}
