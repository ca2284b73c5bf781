/**
 * Making hold/ and deferral/ (queue/layout.ts's sidecars) on first use,
 * owned like the queue itself: a directory root made for a queue that a
 * non-root qmd runs would lock that qmd out of its own hold markers.
 */
import type { QueueLayout, SidecarDirectory } from "./layout.ts";

/** Creates the sidecar directory `name` if missing (mode 0700, the queue's owner). */
export function ensureSidecarDirectory(layout: QueueLayout, name: SidecarDirectory): void {
  const path = layout.sidecarDirectory(name);
  try {
    Deno.mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return;
    throw error;
  }
  if (Deno.uid() !== 0) return;
  const owner = Deno.statSync(layout.root);
  if (owner.uid !== null && owner.uid !== 0) Deno.chownSync(path, owner.uid, owner.gid);
}
