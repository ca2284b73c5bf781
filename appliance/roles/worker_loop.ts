/**
 * The message loop every role isolate runs (ipc.ts): log records go to the
 * supervisor, each message from the supervisor goes to the role's handler
 * for its type (`usage` is answered here, alike for all), and an error a handler throws or rejects with becomes one
 * `fatal` message naming the role. Messages without a handler are ignored.
 */
import { type FromRole, type RoleName, rolePort, type ToRole } from "../ipc.ts";
import os from "node:os";
import { type LogRecord, logWarning, setLogSink } from "../log.ts";
import { threadUsage } from "../isolate_usage.ts";
import { BATCH_MS } from "../log_backlog.ts";

/** Records per `logs` message at most. */
const BATCH_RECORDS = 256;

/**
 * How a role posts to the supervisor: log records are gathered for up to
 * BATCH_MS and go as one `logs` message, always before any other message the
 * role posts, so the supervisor sees everything in the order it happened (a
 * delivery's "starting delivery" line before the report that ends it). The
 * next other message rides in the same `logs` message (its `then`): while
 * deliveries flow, the records cost no postMessage of their own, and the
 * supervisor's thread wakes once for both. An uncaught error posts what is
 * gathered before the isolate ends.
 */
export function rolePoster(): (message: FromRole) => void {
  let batch: LogRecord[] = [];
  /**
   * Armed by a record when none is: what is still gathered when it fires goes.
   * A flush leaves it armed, so a role that posts often makes one timer per
   * BATCH_MS, not one per batch (a node timer costs tens of microseconds).
   */
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onTimer = () => {
    timer = undefined;
    flush();
  };
  const flush = (then?: FromRole) => {
    if (batch.length === 0) {
      if (then !== undefined) rolePort().postMessage(then);
      return;
    }
    const records = batch;
    batch = [];
    rolePort().postMessage(
      (then === undefined
        ? { type: "logs", records }
        : { type: "logs", records, then }) satisfies FromRole,
    );
  };
  globalThis.addEventListener("error", () => flush());
  globalThis.addEventListener("unhandledrejection", () => flush());
  return (message) => {
    if (message.type !== "log") {
      flush(message);
      return;
    }
    batch.push(message.record);
    if (batch.length >= BATCH_RECORDS) flush();
    else timer ??= setTimeout(onTimer, BATCH_MS);
  };
}

/** A role's handler for each message type it takes. */
export type RoleHandlers = {
  [T in ToRole["type"]]?: (message: Extract<ToRole, { type: T }>) => void | Promise<void>;
};

/**
 * Starts the loop in this isolate. `post` is how the role posts to the
 * supervisor (a listener puts its buffered log records first).
 */
export function runRoleLoop(
  name: RoleName,
  handlers: RoleHandlers,
  post: (message: FromRole) => void = rolePoster(),
): void {
  setLogSink((record) => post({ type: "log", record }), name);
  const fatal = (error: unknown) =>
    post({ type: "fatal", message: `${name}: ${(error as Error).message}` });
  rolePort().onmessage = (event: MessageEvent<ToRole>) => {
    const message = event.data;
    // Every role answers `qmd status`'s question the same way.
    if (message.type === "usage") {
      post({ type: "usage", request: message.request, usage: threadUsage() });
      return;
    }
    if (message.type === "start" && message.settings.nice !== undefined) {
      lowerThreadPriority(message.settings.nice);
    }
    // The handler for this message's own type (the map is keyed by type).
    const handler = handlers[message.type] as
      | ((message: ToRole) => void | Promise<void>)
      | undefined;
    try {
      handler?.(message)?.catch(fatal);
    } catch (error) {
      fatal(error);
    }
  };
}

/**
 * Puts this isolate's thread `nice` levels below where it is (at most 19).
 * On Linux the nice value belongs to the thread, and setpriority for "this
 * process" (pid 0) sets the calling thread's alone: the other isolates keep
 * theirs. A refusal leaves the thread as it was.
 */
function lowerThreadPriority(nice: number): void {
  try {
    os.setPriority(Math.min(19, os.getPriority() + nice));
  } catch (error) {
    logWarning(`unable to lower this role's priority: ${(error as Error).message}`);
  }
}
