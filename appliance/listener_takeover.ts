/**
 * New permissions for the listener isolates without dropping a session. A
 * Worker's permissions are fixed when it starts, and some of smtpd's and
 * pop3d's come from the home's files: the rcptcheck program (control/rcptcheck,
 * RCPTCHECK in tcp.smtp), QMAILQUEUE programs in tcp.smtp, the cdbs
 * control/recipients lists, control/clamd's Unix socket, and for pop3d the
 * user homes and control/pop3homes. When a reload finds them changed, each
 * isolate of the role gets a successor with the new permissions; once the
 * successor listens (SO_REUSEPORT, the same ports), the old isolate is told
 * to drain: it stops accepting and finishes its sessions, then ends. So the
 * port is never unanswered and no session is cut.
 *
 * The successor keeps the role's spec but for its permissions, so it shares
 * the old isolates' tables (connections per IP, failed logins, challenge
 * mechanisms). It gets a number of its own: replies to the old isolate's
 * lookups still reach it, and session ids stay unique.
 */
import type { RoleName } from "./ipc.ts";
import type { RoleSpec } from "./role_table.ts";
import { logEvent } from "./log.ts";

/** The roles that listen, and whose permissions the home's files may change. */
export const LISTENER_ROLES: ReadonlySet<RoleName> = new Set(["smtpd", "pop3d"]);

/**
 * `running` (a listener's spec) with the permissions its role has in `fresh`
 * (a role table the home's files grant now), or undefined when they are the
 * same. Everything else is kept, so the role's shared tables stay shared.
 */
export function regranted(running: RoleSpec, fresh: readonly RoleSpec[]): RoleSpec | undefined {
  if (!LISTENER_ROLES.has(running.name)) return undefined;
  const now = fresh.find((each) => each.name === running.name);
  if (now === undefined) return undefined;
  if (JSON.stringify(now.permissions) === JSON.stringify(running.permissions)) return undefined;
  return { ...running, permissions: now.permissions };
}

/** A running isolate as the supervisor knows it. */
interface Isolate {
  spec: RoleSpec;
  index: number;
}

/** Which isolate takes over from which, and which are on their way out. */
export class Takeovers<R extends Isolate> {
  /** Successor to the isolate it replaces, until the successor is ready. */
  readonly #replaces = new Map<R, R>();
  /** Isolates told to drain for a successor: they end when drained, with no restart. */
  readonly #retiring = new Set<R>();

  /**
   * The successors to start, after a reload read `fresh` (the role table the
   * home's files grant now): one per running listener isolate whose role's
   * permissions changed, each with the next free number of its role. Logged.
   */
  plan(
    roles: readonly R[],
    fresh: readonly RoleSpec[],
  ): { old: R; spec: RoleSpec; index: number }[] {
    const successors: { old: R; spec: RoleSpec; index: number }[] = [];
    const last = new Map<string, number>();
    for (const role of roles) {
      last.set(role.spec.name, Math.max(last.get(role.spec.name) ?? 0, role.index));
    }
    for (const old of roles) {
      const spec = this.replaced(old) ? undefined : regranted(old.spec, fresh);
      if (spec === undefined) continue;
      const index = last.get(spec.name)! + 1;
      last.set(spec.name, index);
      successors.push({ old, spec, index });
    }
    for (const name of new Set(successors.map(({ spec }) => spec.name))) {
      logEvent(
        "listener_regranted",
        `status: ${name} permissions changed; new ${name} isolates take over, ` +
          "the old ones finish their sessions",
        { role: name },
      );
    }
    return successors;
  }

  /** `successor` was started to take over from `old`. */
  begin(old: R, successor: R): void {
    this.#replaces.set(successor, old);
  }

  /** An isolate is ready: the one it replaces, now to be drained (and retired), if any. */
  ready(role: R): R | undefined {
    const old = this.#replaces.get(role);
    if (old === undefined) return undefined;
    this.#replaces.delete(role);
    this.#retiring.add(old);
    return old;
  }

  /** Whether `role` is being replaced (a successor started for it) or retiring. */
  replaced(role: R): boolean {
    return this.#retiring.has(role) || [...this.#replaces.values()].includes(role);
  }

  /** `role` drained or died: true when it was retiring (it is forgotten). */
  retired(role: R): boolean {
    return this.#retiring.delete(role);
  }

  /** A successor died before it was ready: its isolate is not replaced after all. */
  failed(successor: R): void {
    this.#replaces.delete(successor);
  }
}
