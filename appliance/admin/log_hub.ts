/**
 * The admin isolate's copy of the log: the last RECENT_LIMIT records the
 * supervisor fed it (admin_feed.ts), and the listeners of the live log
 * (server-sent events), each with its filter. Filters match a session id
 * (`fields.session`), a queue id (`fields.msg` or "msg N" in the text) and
 * a check (the text names it, as the filter and reject lines do).
 */
import type { LogRecord } from "../log.ts";

export const RECENT_LIMIT = 500;

/** What the live log shows; an empty field matches everything. */
export interface LogFilter {
  session?: string;
  msg?: string;
  check?: string;
}

/** Whether a record passes a filter. */
export function matchesFilter(record: LogRecord, filter: LogFilter): boolean {
  const { session, msg, check } = filter;
  if (session && record.fields.session !== session) return false;
  if (msg && String(record.fields.msg ?? "") !== msg && !record.text.includes(`msg ${msg}`)) {
    return false;
  }
  if (check && !record.text.includes(check) && record.fields.check !== check) return false;
  return true;
}

export class LogHub {
  readonly #recent: LogRecord[] = [];
  readonly #listeners = new Set<(record: LogRecord | null) => void>();

  /** Records from the supervisor, in order. */
  add(records: readonly LogRecord[]): void {
    for (const record of records) {
      this.#recent.push(record);
      for (const listener of this.#listeners) listener(record);
    }
    if (this.#recent.length > RECENT_LIMIT) {
      this.#recent.splice(0, this.#recent.length - RECENT_LIMIT);
    }
  }

  /** The recent records that pass `filter`, oldest first. */
  recent(filter: LogFilter = {}): LogRecord[] {
    return this.#recent.filter((record) => matchesFilter(record, filter));
  }

  /**
   * Calls `listener` with each new record, and with null when the hub closes
   * (the console is stopping); returns the function that stops it.
   */
  listen(listener: (record: LogRecord | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Ends every listener (their streams close). */
  close(): void {
    for (const listener of this.#listeners) listener(null);
    this.#listeners.clear();
  }
}
