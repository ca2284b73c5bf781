/**
 * What the console's routes share: the home, the live counters and log the
 * supervisor feeds, the login state, how to ask for a reload or a change,
 * and Hono's
 * per-request variables (how the request was let in, its session's CSRF
 * token). The role (roles/admin.ts) builds one; tests build their own.
 */
import type { Context } from "hono";
import type { CounterSnapshot } from "../log_counters.ts";
import type { LogHub } from "./log_hub.ts";
import type { LoginGuard } from "./login_guard.ts";
import type { AdminSession, SessionStore } from "./session_store.ts";
import type { QueueSampler } from "./queue_view.ts";
import type { AdminWrite, AdminWriteResult } from "./admin_writes.ts";

export interface AdminContext {
  home: string;
  /** The counters as the supervisor last sent them. */
  counters(): CounterSnapshot;
  log: LogHub;
  queue: QueueSampler;
  sessions: SessionStore;
  logins: LoginGuard;
  /** Asks the supervisor to re-read the control files, as SIGHUP does. */
  reload(): void;
  /** Asks the supervisor to make a change outside HOME/admin (admin_writes.ts). */
  write(write: AdminWrite): Promise<AdminWriteResult>;
  /** The clock (tests move it). */
  now(): number;
  /** The console is served over TLS: cookies get Secure. */
  secure: boolean;
}

/** How a request was let in. */
export type Admission =
  | { via: "session"; session: AdminSession }
  | { via: "token"; name: string }
  | { via: "loopback" };

/** Hono's environment for the console: the client's address, and what the guard found. */
export interface AdminEnv {
  Bindings: { remoteAddr?: string };
  Variables: { admission: Admission };
}

export type AdminRequest = Context<AdminEnv>;

/** The CSRF token to put in this request's forms ("" for a token or loopback client). */
export function csrfOf(c: AdminRequest): string {
  const admission = c.get("admission");
  return admission?.via === "session" ? admission.session.csrf : "";
}

/** Who made a change, for the history: "console" or "token NAME". */
export function actorOf(c: AdminRequest): string {
  const admission = c.get("admission");
  return admission?.via === "token" ? `token ${admission.name}` : "console";
}

/** The client's IP as the listener saw it ("unknown" in-process without one). */
export function clientIp(c: AdminRequest): string {
  return c.env?.remoteAddr ?? "unknown";
}

/** Whether the client connected from the loopback interface. */
export function isLoopbackClient(c: AdminRequest): boolean {
  const ip = clientIp(c).replace(/^::ffff:/, "");
  return ip === "::1" || /^127\./.test(ip);
}

/** The body of a form or JSON request as strings. */
export async function readInput(c: AdminRequest): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  if (type.includes("application/json")) {
    const body = await c.req.json().catch(() => ({}));
    return Object.fromEntries(
      Object.entries(body ?? {}).map(([key, value]) => [key, String(value ?? "")]),
    );
  }
  const body = await c.req.parseBody();
  return Object.fromEntries(
    Object.entries(body).flatMap(([key, value]) => typeof value === "string" ? [[key, value]] : []),
  );
}

/** Whether the client asked for JSON (an API route). */
export function wantsJson(c: AdminRequest): boolean {
  return new URL(c.req.url).pathname.startsWith("/api/");
}
