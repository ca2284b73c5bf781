/**
 * What one SIGHUP did, told once. Every isolate answers the reload with the
 * control files it could not reread (it keeps its old controls, as qmail
 * does); when all have answered, each broken file is logged once, however
 * many isolates met it, and then one line says how the reload ended:
 * `status: reloaded control files` when nothing was broken. An isolate that
 * crashes or does not answer in time is named instead of waited for.
 */
import { logEvent } from "./log.ts";

/** How long a reload waits for the isolates' answers. */
const ANSWER_MS = 10_000;

export class ReloadReport {
  #round = 0;
  #waiting = new Set<string>();
  #errors: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts a reload that `roles` (names such as "smtpd 2") will answer;
   * `errors` are the supervisor's own (the TLS files). Returns the round
   * number the answers must carry. A reload still open is reported first.
   */
  begin(roles: string[], errors: string[]): number {
    if (this.#timer !== undefined) this.#finish();
    this.#round++;
    this.#waiting = new Set(roles);
    this.#errors = [];
    this.#add(errors);
    this.#timer = setTimeout(() => this.#finish(), ANSWER_MS);
    if (this.#waiting.size === 0) this.#finish();
    return this.#round;
  }

  /** One isolate's answer. */
  answer(round: number, role: string, errors: string[]): void {
    if (round !== this.#round || !this.#waiting.delete(role)) return;
    this.#add(errors);
    if (this.#waiting.size === 0) this.#finish();
  }

  /** An isolate ended (crashed or drained) and will not answer. */
  gone(role: string): void {
    if (this.#waiting.delete(role) && this.#waiting.size === 0) this.#finish();
  }

  /** Drops an open reload without a report (shutdown). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting.clear();
  }

  #add(errors: string[]): void {
    for (const error of errors) if (!this.#errors.includes(error)) this.#errors.push(error);
  }

  #finish(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const error of this.#errors) {
      logEvent("reload_failed", `alert: unable to reread controls: ${error}`, { error });
    }
    const silent = [...this.#waiting];
    this.#waiting.clear();
    if (silent.length > 0) {
      logEvent(
        "reload_unanswered",
        `warning: reload: no answer from ${silent.join(", ")}; they may still use old controls`,
        { roles: silent.join(",") },
      );
    }
    if (this.#errors.length === 0 && silent.length === 0) {
      logEvent("reloaded", "status: reloaded control files");
    } else if (this.#errors.length > 0) {
      logEvent(
        "reloaded",
        `warning: reloaded control files except ${this.#errors.length} broken; ` +
          "the roles that read a broken file keep their previous controls",
        { broken: this.#errors.length },
      );
    }
  }
}
