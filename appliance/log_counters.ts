/**
 * The appliance's counters, derived from its log records: the supervisor
 * writes every record and hands each one to record() (admin_feed.ts), so the
 * numbers are what the log says happened. Deliveries, deferrals and bounces
 * (a recipient's permanent failure) are counted per channel and per minute
 * for the last hour; refusals by command and reply code; sessions and TLS
 * per listener; role restarts; failed logins (SMTP AUTH, POP3, the console).
 *
 * Pure: no I/O; time comes from the records.
 */
import type { LogRecord } from "./log.ts";

/** One minute's activity, for the dashboard's charts. */
export interface MinuteCounts {
  /** Unix minute (ms / 60000, floored). */
  minute: number;
  deliveries: number;
  deferrals: number;
  bounces: number;
  refusals: number;
  sessions: number;
}

/** What the counters hold at one moment; plain data (postMessage-safe). */
export interface CounterSnapshot {
  /** When counting began (Unix ms). */
  since: number;
  deliveries: Record<string, number>;
  deferrals: Record<string, number>;
  bounces: Record<string, number>;
  /** Keyed `COMMAND CODE`, e.g. `rcpt 553`. */
  refusals: Record<string, number>;
  sessions: Record<string, number>;
  tls: Record<string, number>;
  restarts: Record<string, number>;
  /** Keyed by the event that logged the failure (smtp_auth_failed, admin_login_failed, ...). */
  authFailures: Record<string, number>;
  /** The last MINUTES_KEPT minutes that saw anything, oldest first. */
  minutes: MinuteCounts[];
}

/** How many minutes the per-minute series keeps. */
export const MINUTES_KEPT = 60;

/** Sessions whose listener is remembered for their TLS line (the oldest are forgotten first). */
const SESSIONS_REMEMBERED = 10_000;

const AUTH_FAILURE_EVENTS = new Set([
  "smtp_auth_failed",
  "smtp_auth_blocked",
  "pop3_login_failed",
  "pop3_login_blocked",
  "admin_login_failed",
  "admin_login_locked",
]);

type CountName = "deliveries" | "deferrals" | "bounces" | "refusals" | "sessions";

export class LogCounters {
  readonly #counts: CounterSnapshot;
  /** Session id → listener kind, from its connect line until its close line. */
  readonly #listeners = new Map<string, string>();

  constructor(now = Date.now()) {
    this.#counts = {
      since: now,
      deliveries: {},
      deferrals: {},
      bounces: {},
      refusals: {},
      sessions: {},
      tls: {},
      restarts: {},
      authFailures: {},
      minutes: [],
    };
  }

  /** Counts one log record. */
  record(record: LogRecord): void {
    const fields = record.fields;
    const text = (name: string) => typeof fields[name] === "string" ? fields[name] as string : "";
    switch (record.event) {
      case "delivery_success":
        this.#add("deliveries", text("channel"), record.time);
        break;
      case "delivery_deferral":
        this.#add("deferrals", text("channel"), record.time);
        break;
      case "delivery_failure":
        this.#add("bounces", text("channel"), record.time);
        break;
      case "smtp_reject": {
        const code = /^\d{3}/.exec(text("reply"))?.[0] ?? "other";
        this.#add("refusals", `${text("command").toLowerCase()} ${code}`, record.time);
        break;
      }
      case "smtp_connect":
      case "pop3_connect": {
        const listener = text("listener") || record.event.slice(0, 4);
        this.#add("sessions", listener, record.time);
        this.#remember(text("session"), listener);
        break;
      }
      case "smtp_tls":
      case "pop3_tls": {
        const listener = this.#listeners.get(text("session")) ?? "unknown";
        increment(this.#counts.tls, listener);
        break;
      }
      case "smtp_close":
      case "pop3_close":
        this.#listeners.delete(text("session"));
        break;
      case "role_crashed":
        increment(this.#counts.restarts, text("role") || "unknown");
        break;
      default:
        if (AUTH_FAILURE_EVENTS.has(record.event)) {
          increment(this.#counts.authFailures, record.event);
        }
    }
  }

  #add(name: CountName, key: string, time: number): void {
    increment(this.#counts[name], key || "unknown");
    const minute = Math.floor(time / 60_000);
    const minutes = this.#counts.minutes;
    let last = minutes[minutes.length - 1];
    if (last === undefined || last.minute < minute) {
      last = { minute, deliveries: 0, deferrals: 0, bounces: 0, refusals: 0, sessions: 0 };
      minutes.push(last);
      while (minutes.length > 0 && minutes[0].minute <= minute - MINUTES_KEPT) minutes.shift();
    }
    // A record that arrives after a newer one is counted in the newest minute.
    last[name]++;
  }

  #remember(session: string, listener: string): void {
    if (session === "") return;
    this.#listeners.set(session, listener);
    if (this.#listeners.size > SESSIONS_REMEMBERED) {
      this.#listeners.delete(this.#listeners.keys().next().value as string);
    }
  }

  /** A copy of the counters now (safe to post to another isolate). */
  snapshot(): CounterSnapshot {
    return structuredClone(this.#counts);
  }
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
