/**
 * Held messages (queue/layout.ts's sidecars): a message is held while the
 * empty file hold/ID exists. Nothing else changes, so the message stays in
 * qmail's layout and qmail-qread and qmail-qstat read it as before; qmd's
 * send engine starts no delivery for it (send/engine/held_messages.ts). Real
 * qmail-send never looks in hold/ and would deliver the message at its next
 * retry time.
 */
import type { QueueLayout } from "./layout.ts";
import { ensureSidecarDirectory } from "./sidecar_directory.ts";
import { probeFile, removeIfPresentSync } from "../durable_file.ts";

/** Creates hold/ID (and hold/ itself when missing). */
export function markHeld(layout: QueueLayout, id: bigint): void {
  ensureSidecarDirectory(layout, "hold");
  Deno.writeFileSync(layout.sidecar("hold", id), new Uint8Array(0), { mode: 0o600 });
}

/** Removes hold/ID; absence is success. */
export function clearHeld(layout: QueueLayout, id: bigint): void {
  removeIfPresentSync(layout.sidecar("hold", id), { usuallyAbsent: true });
}

/** Whether hold/ID exists. */
export function isHeld(layout: QueueLayout, id: bigint): boolean {
  return probeFile(layout.sidecar("hold", id));
}

/** Every held message number (decimal names under hold/); none when hold/ is missing. */
export function listHeld(layout: QueueLayout): bigint[] {
  const ids: bigint[] = [];
  try {
    for (const entry of Deno.readDirSync(layout.sidecarDirectory("hold"))) {
      if (entry.isFile && /^\d+$/.test(entry.name)) ids.push(BigInt(entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return ids;
}
