/**
 * The message loop every role isolate runs (ipc.ts): log records go to the
 * supervisor, each message from the supervisor goes to the role's handler
 * for its type (`usage` is answered here, alike for all), and an error a handler throws or rejects with becomes one
 * `fatal` message naming the role. Messages without a handler are ignored.
 */
import { type FromRole, type RoleName, rolePort, type ToRole } from "../ipc.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { threadUsage } from "../isolate_usage.ts";

/** Records per `logs` message at most. */
const BATCH_RECORDS = 256;

/**
 * How a role posts to the supervisor: log records are gathered for one turn
 * of the event loop and go as one `logs` message, always before any other
 * message the role posts, so the supervisor sees everything in the order it
 * happened (a delivery's "starting delivery" line before the report that
 * ends it). One message instead of one per record: the supervisor's thread
 * wakes once per batch. An uncaught error posts what is gathered before the
 * isolate ends.
 */
export function rolePoster(): (message: FromRole) => void {
  let batch: LogRecord[] = [];
  /** The end of this turn of the event loop (setImmediate: a 0 ms timer costs ten times the CPU). */
  let timer: ReturnType<typeof setImmediate> | undefined;
  const flush = () => {
    if (timer !== undefined) clearImmediate(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    rolePort().postMessage({ type: "logs", records } satisfies FromRole);
  };
  globalThis.addEventListener("error", flush);
  globalThis.addEventListener("unhandledrejection", flush);
  return (message) => {
    if (message.type !== "log") {
      flush();
      rolePort().postMessage(message);
      return;
    }
    batch.push(message.record);
    if (batch.length >= BATCH_RECORDS) flush();
    else timer ??= setImmediate(flush);
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
