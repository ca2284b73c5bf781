/**
 * qmd's public API for embedding and tests. No side effects on import.
 */
export { runCli } from "./main.ts";
export { Supervisor, type SupervisorOptions } from "./appliance/supervisor.ts";
export { QueueLayout, queueLayoutFor } from "./appliance/queue/layout.ts";
export { ControlError } from "./config/control.ts";
export { resolveHome } from "./config/home.ts";

/** Modules loaded at run time (workers, lazily imported commands) that `deno compile` must embed. */
export const COMPILE_INCLUDES: readonly string[] = [
  "appliance/roles/smtpd.ts",
  "appliance/roles/send.ts",
  "appliance/roles/local.ts",
  "appliance/cli",
];
