/**
 * qmd's public API for embedding and tests. No side effects on import.
 */
export { runCli } from "./main.ts";
export { Supervisor, type SupervisorOptions } from "./appliance/supervisor.ts";
export { QueueLayout, queueLayoutFor } from "./appliance/queue/layout.ts";
export { type ControlOutcome, controlQueue } from "./appliance/queue_control/control.ts";
export type {
  MessageDetail,
  QueueActionResult,
  QueuedMessage,
  QueuedRecipient,
  QueueReply,
  QueueRequest,
} from "./appliance/queue/control_request.ts";
export { ControlError } from "./config/control.ts";
export { isTemporary, MailError, type MailErrorInit } from "./config/mail_error.ts";
export { resolveHome } from "./config/home.ts";

/**
 * The flags `deno task start` runs qmd with; `deno task compile` bakes the
 * same into the executable. A 1 MB young generation makes V8 free the
 * per-chunk socket buffers of a large message soon (RSS stays flat), at no
 * measurable cost for small messages; sweeping array buffers at each
 * collection rather than on a helper thread frees their memory then, not
 * after the helper got round to it (a 100 MB message: 30 MB of RSS growth
 * with the helper, 14 MB without; README, issue 16).
 */
export const RUN_FLAGS: readonly string[] = [
  "--unstable-worker-options",
  "--allow-all",
  "--v8-flags=--max-semi-space-size=1,--no-concurrent-array-buffer-sweeping",
];

/**
 * Worker modules: `deno compile` cannot see `new Worker(url)` targets, so they
 * are passed to --include. (The commands' dynamic imports are string
 * literals, which compile follows by itself.)
 */
export const COMPILE_INCLUDES: readonly string[] = [
  "appliance/roles/smtpd.ts",
  "appliance/roles/send.ts",
  "appliance/roles/local.ts",
  "appliance/roles/auth.ts",
  "appliance/roles/remote.ts",
  "appliance/roles/pop3d.ts",
  // The admin console; its assets are TypeScript strings (admin/assets.ts), embedded with it.
  "appliance/roles/admin.ts",
  // control/acme's certificate renewer.
  "appliance/roles/acme.ts",
];
