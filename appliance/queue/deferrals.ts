/**
 * The last temporary failure per recipient of a queued message
 * (queue/layout.ts's sidecars): deferral/ID holds a JSON object from each
 * deferred recipient (the channel file's address) to when and why. The send
 * role writes it from every deferral report; `qmd queue list` reads it; it
 * goes when the message leaves the queue. qmail's programs ignore it.
 */
import type { QueueLayout } from "./layout.ts";
import { ensureSidecarDirectory } from "./sidecar_directory.ts";
import { removeIfPresentSync } from "../durable_file.ts";

/** One recipient's last temporary failure. */
export interface Deferral {
  /** Unix seconds of the report. */
  at: number;
  /** The report's text, as the delivery role gave it. */
  text: string;
}

/** The longest report text kept (qmail keeps 10000 bytes of a report; a listing needs less). */
const MAX_TEXT = 2000;

/** deferral/ID as recipient → last deferral; empty when missing or unreadable. */
export function readDeferrals(layout: QueueLayout, id: bigint): Record<string, Deferral> {
  let text: string;
  try {
    text = Deno.readTextFileSync(layout.sidecar("deferral", id));
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Records `recipient`'s deferral in deferral/ID, written under a temporary
 * name and renamed so a reader never sees half a file. Throws on failure.
 */
export function recordDeferral(
  layout: QueueLayout,
  id: bigint,
  recipient: string,
  deferral: Deferral,
): void {
  ensureSidecarDirectory(layout, "deferral");
  const all = readDeferrals(layout, id);
  all[recipient] = { at: deferral.at, text: deferral.text.slice(0, MAX_TEXT) };
  const path = layout.sidecar("deferral", id);
  const temporary = `${path}.tmp`;
  Deno.writeTextFileSync(temporary, JSON.stringify(all), { mode: 0o600 });
  Deno.renameSync(temporary, path);
}

/** Removes deferral/ID; absence is success. */
export function removeDeferrals(layout: QueueLayout, id: bigint): void {
  removeIfPresentSync(layout.sidecar("deferral", id), { usuallyAbsent: true });
}
