/**
 * How long a session waits for its client, for the SMTP and POP3 drivers:
 * qmail's timeout for each read and write (timeoutsmtpd, qmail-popup's
 * 1200 s), qmd's overall deadlines for a command line and a DATA section
 * (timeoutcommand, timeoutdata), and the shorter waits of stress mode
 * (timeoutstress, dataratestress; connection_limits.ts says when the role is
 * under stress). checkWait decides; waitForClient runs the timer around it.
 *
 * Stress is read again at every check, so a session that began before the
 * stress is cut as soon as it has kept the server waiting too long while
 * the stress lasts: a wait that is not under stress looks again every
 * timeoutstress seconds.
 */
import { DeadlineExceeded, ReadTimeout } from "./connection_io.ts";

/** An overall deadline: a command line (timeoutcommand) or a DATA section (timeoutdata). */
export interface Deadline {
  /** When it began: the line's first byte, the 354 (Unix ms). */
  since: number;
  /** When it is over (Unix ms); Infinity when its control file is 0. */
  at: number;
  /** For the log: "command line not finished within 120 s". */
  what: string;
  /** DATA only: the bytes received since the 354, which under stress must keep up a rate. */
  received?: number;
}

/** What a session sees of stress mode. */
export interface ConnectionStress {
  /** Whether the role is under connection stress now. */
  active(): boolean;
  /** control/timeoutstress: the longest wait for the client under stress; 0 = no change. */
  seconds: number;
  /** control/dataratestress: bytes a second DATA (and output) must average under stress; 0 = none. */
  dataRate: number;
}

/** One wait for the client: a read, or the client taking `writing` bytes of output. */
export interface ClientWait {
  /** When the wait began (Unix ms). */
  start: number;
  /** qmail's timeout for one read or write, in seconds. */
  seconds: number;
  deadline?: Deadline;
  writing?: number;
}

/** Cut the session now, or look again at `wakeAt` (Unix ms). */
export type WaitCheck = { cut: ReadTimeout } | { wakeAt: number };

/** Whether the wait is over at `now`, and if not, when to look again. */
export function checkWait(
  wait: ClientWait,
  stress: ConnectionStress | undefined,
  now: number,
): WaitCheck {
  let wakeAt = wait.start + wait.seconds * 1000;
  if (now >= wakeAt) return { cut: new ReadTimeout() };
  const deadline = wait.deadline;
  if (deadline !== undefined) {
    if (now >= deadline.at) return { cut: new DeadlineExceeded(deadline.what) };
    wakeAt = Math.min(wakeAt, deadline.at);
  }
  if (stress === undefined || stress.seconds <= 0) return { wakeAt };
  if (!stress.active()) return { wakeAt: Math.min(wakeAt, now + stress.seconds * 1000) };
  const limit = stressLimit(wait, stress);
  if (now >= limit.at) return { cut: limit.cut() };
  return { wakeAt: Math.min(wakeAt, limit.at) };
}

/** The earliest point at which stress mode ends this wait, and how it says so. */
function stressLimit(
  wait: ClientWait,
  stress: ConnectionStress,
): { at: number; cut: () => ReadTimeout } {
  const seconds = stress.seconds;
  const rate = stress.dataRate;
  // Output: timeoutstress, plus the time its bytes take at the rate.
  const waitSeconds = wait.writing !== undefined && rate > 0
    ? seconds + wait.writing / rate
    : seconds;
  let limit = {
    at: wait.start + waitSeconds * 1000,
    cut: () =>
      new ReadTimeout(
        wait.writing === undefined
          ? `no input for ${seconds} s under connection stress`
          : `output not taken within ${Math.ceil(waitSeconds)} s under connection stress`,
      ),
  };
  const deadline = wait.deadline;
  if (deadline === undefined) return limit;
  if (deadline.received === undefined) {
    const at = deadline.since + seconds * 1000;
    if (at < limit.at) {
      limit = {
        at,
        cut: () =>
          new DeadlineExceeded(
            `command line not finished within ${seconds} s under connection stress`,
          ),
      };
    }
  } else if (rate > 0) {
    // DATA may fall timeoutstress seconds behind the rate, counted from the 354.
    const at = deadline.since + (seconds + deadline.received / rate) * 1000;
    if (at < limit.at) {
      limit = {
        at,
        cut: () => new DeadlineExceeded(`DATA slower than ${rate} bytes/s under connection stress`),
      };
    }
  }
  return limit;
}

/** The deadline of a command line whose first byte came now (timeoutcommand; 0 = none). */
export function commandDeadline(seconds: number, now: number = Date.now()): Deadline {
  return {
    since: now,
    at: seconds > 0 ? now + seconds * 1000 : Infinity,
    what: `command line not finished within ${seconds} s`,
  };
}

/** rblsmtpd's `-t`, its conversation begun now: dropped after `seconds`, whatever goes on. */
export function rblDeadline(seconds: number, now: number = Date.now()): Deadline {
  return { since: now, at: now + seconds * 1000, what: `rblsmtpd -t ${seconds}` };
}

/** Whichever of two deadlines comes first. */
export function earlier(a: Deadline | undefined, b: Deadline | undefined): Deadline | undefined {
  if (a === undefined) return b;
  return b === undefined || a.at <= b.at ? a : b;
}

/** The deadline of a DATA section whose 354 went out now (timeoutdata; 0 = none). */
export function dataDeadline(
  seconds: number,
  now: number = Date.now(),
): Deadline & { received: number } {
  return {
    since: now,
    at: seconds > 0 ? now + seconds * 1000 : Infinity,
    what: `DATA not finished within ${seconds} s`,
    received: 0,
  };
}

/** A wait that is still on, and when it looks again. */
interface PendingWait {
  wakeAt: number;
  look(): void;
}

/**
 * One timer for all the waits of an isolate, armed for the earliest wake.
 * A session waits for its client at every read and write, nearly always far
 * less than its timeout: a timer of its own per wait (set, then cleared)
 * cost more CPU than the wait's own work (README, issue 16). A wait that
 * ends only leaves the set. When the set is empty the timer stays armed but
 * no longer keeps the isolate alive (unref), so the next wait, which nearly
 * always wakes later, takes it over without a new timer: it is re-armed only
 * for an earlier wake, and when it fires for nothing it is simply not set
 * again.
 */
class WaitTimer {
  readonly #pending = new Set<PendingWait>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #at = Infinity;
  /** Whether the armed timer keeps the isolate alive: only while a wait is on. */
  #holding = false;

  /** The waits on, whether the timer is armed, and whether it keeps the isolate alive (tests). */
  get state(): { waits: number; armed: boolean; holding: boolean } {
    return {
      waits: this.#pending.size,
      armed: this.#timer !== undefined,
      holding: this.#timer !== undefined && this.#holding,
    };
  }

  add(wait: PendingWait): void {
    this.#pending.add(wait);
    if (wait.wakeAt < this.#at) this.#arm(wait.wakeAt);
    else this.#hold(true);
  }

  delete(wait: PendingWait): void {
    this.#pending.delete(wait);
    if (this.#pending.size === 0) this.#hold(false);
  }

  #hold(holding: boolean): void {
    if (this.#timer === undefined || this.#holding === holding) return;
    this.#holding = holding;
    if (holding) Deno.refTimer(this.#timer);
    else Deno.unrefTimer(this.#timer);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - Date.now()));
    this.#holding = true;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    const now = Date.now();
    for (const wait of [...this.#pending]) {
      if (wait.wakeAt > now) continue;
      this.#pending.delete(wait);
      wait.look(); // adds it again (re-arming) unless the wait is over
    }
    let next = Infinity;
    for (const wait of this.#pending) next = Math.min(next, wait.wakeAt);
    if (next < this.#at) this.#arm(next);
  }
}

const waitTimer = new WaitTimer();

/**
 * How many client waits this isolate has on, whether their timer is armed,
 * and whether it keeps the isolate alive (tests).
 */
export function clientWaitState(): { waits: number; armed: boolean; holding: boolean } {
  return waitTimer.state;
}

/**
 * Waits for `promise` (a read or a write) while checkWait allows: rejects
 * with its ReadTimeout or DeadlineExceeded when the wait is over. The wait
 * looks again when checkWait says (the isolate's one WaitTimer), and holds
 * one reaction on `promise`.
 */
export function waitForClient<T>(
  promise: Promise<T>,
  wait: ClientWait,
  stress?: ConnectionStress,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const pending: PendingWait = {
      wakeAt: 0,
      look: () => {
        const next = checkWait(wait, stress, Date.now());
        if ("cut" in next) {
          settled = true;
          reject(next.cut);
        } else {
          pending.wakeAt = next.wakeAt;
          waitTimer.add(pending);
        }
      },
    };
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        waitTimer.delete(pending);
        resolve(value);
      },
      (error) => {
        if (settled) return;
        settled = true;
        waitTimer.delete(pending);
        reject(error);
      },
    );
    pending.look();
  });
}
