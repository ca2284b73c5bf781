/**
 * What qmail-queue adds to a message in the seed patches (docs/patches.md):
 * control/bigbrother (seed 000: `watched:copy` lines, mail from or to
 * `watched` is also queued for `copy`), control/extraqueue (seed 001:
 * addresses added to every message's recipients) and control/originipfield
 * (seed 001: relayed mail gets an `X-Originating-IP` header; ORIGINIPFIELD
 * overrides).
 *
 * Leaf module: plain data; appliance/queue/queue_extras.ts applies it.
 */
import { ControlError, orDefault, readControlLine, readControlList } from "./control.ts";
import { flagDefault } from "./controls.ts";

export interface BigBrotherEntry {
  /** The watched address, lower-cased (compared without regard to case). */
  watched: string;
  /** Where the copies go. */
  copy: string;
  line: number;
}

export interface QueueExtrasControls {
  bigBrother: BigBrotherEntry[];
  extraQueue: string[];
  /** control/originipfield: set and not 0. */
  originIpField: boolean;
}

export function loadQueueExtrasControls(home: string): QueueExtrasControls {
  const path = `${home}/control/bigbrother`;
  const entries = readControlList(home, "bigbrother") ?? [];
  const bigBrother = orDefault(() =>
    entries.map(({ value, line }) => {
      // The copy address is after the last colon: a watched address has none.
      const colon = value.lastIndexOf(":");
      const watched = value.slice(0, colon).trim();
      const copy = value.slice(colon + 1).trim();
      if (colon < 0 || watched === "" || copy === "") {
        throw new ControlError(path, line, `expected watched:copy, found ${JSON.stringify(value)}`);
      }
      return { watched: watched.toLowerCase(), copy, line };
    }), []);
  const originLine = readControlLine(home, "originipfield");
  return {
    bigBrother,
    extraQueue: (readControlList(home, "extraqueue") ?? []).map(({ value }) => value.trim()),
    originIpField: originLine === undefined
      ? flagDefault("originipfield")
      : originLine.trim() !== "" && originLine.trim() !== "0",
  };
}

/** What the queue writer adds to one message (appliance/queue/queue_extras.ts). */
export interface QueueExtras {
  bigBrother: readonly BigBrotherEntry[];
  extraQueue: readonly string[];
  /** The X-Originating-IP header's address, when the header is added. */
  originatingIp?: string;
}

/**
 * One message's additions. The header goes on relayed mail only (RELAYCLIENT,
 * AUTH or a tlsclients certificate) and only when originipfield or
 * ORIGINIPFIELD says so; ORIGINIPFIELD set overrides the file ("0" is off,
 * anything else on).
 */
export function queueExtrasFor(
  controls: QueueExtrasControls,
  client: {
    env: Readonly<Record<string, string | undefined>>;
    remoteIp: string | undefined;
    relaying: boolean;
  },
): QueueExtras {
  const override = client.env.ORIGINIPFIELD;
  const on = override === undefined ? controls.originIpField : override.trim() !== "0";
  const remoteIp = client.remoteIp ?? "";
  return {
    bigBrother: controls.bigBrother,
    extraQueue: controls.extraQueue,
    ...(on && client.relaying && remoteIp !== "" ? { originatingIp: remoteIp } : {}),
  };
}
