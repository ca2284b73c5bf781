/**
 * The console's login sessions, in the admin isolate's memory (a restart
 * logs everyone out). Each session has a random id (the HttpOnly cookie)
 * and its own CSRF token, which every form and state-changing request made
 * with the cookie must carry. A session ends after IDLE_MS without use.
 */
import { randomBytes } from "node:crypto";

export interface AdminSession {
  id: string;
  csrf: string;
  /** Unix ms after which the session is gone unless used again. */
  expires: number;
}

/** How long a session lives without a request. */
export const IDLE_MS = 8 * 60 * 60_000;

const MAX_SESSIONS = 1000;

export class SessionStore {
  readonly #sessions = new Map<string, AdminSession>();

  /** A new session. */
  create(now: number): AdminSession {
    for (const [id, session] of this.#sessions) {
      if (session.expires <= now || this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(id);
    }
    const session = {
      id: randomBytes(32).toString("base64url"),
      csrf: randomBytes(32).toString("base64url"),
      expires: now + IDLE_MS,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, its idle time restarted; undefined when none. */
  find(id: string | undefined, now: number): AdminSession | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expires <= now) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.expires = now + IDLE_MS;
    return session;
  }

  remove(id: string): void {
    this.#sessions.delete(id);
  }
}
