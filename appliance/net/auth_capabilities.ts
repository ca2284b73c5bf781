/**
 * What the auth role found the verifiers can check (ChallengeAuthSupport),
 * posted to the smtpd and pop3d isolates through one shared word, so every
 * new session advertises only mechanisms that can succeed. The auth role
 * writes it at start and on every reload (`qmd user ... --challenge-auth`
 * sends SIGHUP); a listener reads it once per session. Before the auth role
 * has written it the support is unknown and the control/auth masks apply
 * unchanged.
 */
import type { ChallengeAuthSupport } from "../auth/mechanisms.ts";

const KNOWN = 1;
const CRAM = 2;
const DIGEST = 4;

export class AuthCapabilities {
  readonly #word: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== Int32Array.BYTES_PER_ELEMENT) {
      throw new RangeError(`An AUTH capabilities buffer has 4 bytes, not ${buffer.byteLength}`);
    }
    this.#word = new Int32Array(buffer);
  }

  static createBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  }

  publish(support: ChallengeAuthSupport): void {
    Atomics.store(
      this.#word,
      0,
      KNOWN | (support.cram ? CRAM : 0) | (support.digest ? DIGEST : 0),
    );
  }

  /** The last published support, or undefined before the first. */
  read(): ChallengeAuthSupport | undefined {
    const word = Atomics.load(this.#word, 0);
    if ((word & KNOWN) === 0) return undefined;
    return { cram: (word & CRAM) !== 0, digest: (word & DIGEST) !== 0 };
  }
}
