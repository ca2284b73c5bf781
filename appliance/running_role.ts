/**
 * What the supervisor (supervisor.ts) keeps of each isolate it started, and
 * of a planned restart. Plain bookkeeping, no behaviour.
 */
import type { LogBacklog } from "./log_backlog.ts";
import type { RoleSpec } from "./role_table.ts";
import type { ToRole } from "./ipc.ts";

export interface RunningRole {
  spec: RoleSpec;
  index: number;
  worker: Worker;
  ready: boolean;
  restarts: number;
  startedAt: number;
  /** Log records this worker posted and the supervisor has not written yet. */
  logBacklog: LogBacklog;
  /** Where it listens, when it reported it (the admin console on a port the kernel chose). */
  listening?: { host: string; port: number };
}

/**
 * An isolate to be restarted with another spec once it has drained: what
 * the supervisor would have posted to it meanwhile waits for its successor.
 */
export interface Replacement {
  spec: RoleSpec;
  held: ToRole[];
}
