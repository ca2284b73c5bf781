/**
 * Requests posted to an isolate and waiting for its answer, by number, each
 * with a deadline: an answer that does not come in time is a `late()` one,
 * never a hang. The supervisor's queue requests to the send role use it.
 */
export class PendingRequests<A> {
  readonly #timeoutMs: number;
  readonly #waiting = new Map<number, (answer: A) => void>();
  #next = 1;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Numbers a request, posts it with `post(number)`; the answer, or `late()` after the timeout. */
  ask(post: (number: number) => void, late: () => A): Promise<A> {
    const number = this.#next++;
    return new Promise<A>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(number);
        resolve(late());
      }, this.#timeoutMs);
      this.#waiting.set(number, (answer) => {
        clearTimeout(timer);
        this.#waiting.delete(number);
        resolve(answer);
      });
      post(number);
    });
  }

  /** The answer to request `number` (one no longer waited for is dropped). */
  answer(number: number, answer: A): void {
    this.#waiting.get(number)?.(answer);
  }
}
