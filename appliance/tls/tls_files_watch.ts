/**
 * The supervisor's watch on the TLS files: it alone reads and checks them
 * (tls_files.ts), once a second and on SIGHUP, and hands the last good set to
 * every isolate that serves TLS. An isolate that starts or restarts gets the
 * same set in its settings, so no isolate can fall back to a certificate it
 * loaded earlier while the others serve a newer one.
 */
import { logEvent } from "../log.ts";
import {
  type CertificateSummary,
  summarizeServerCertificate,
  type TlsFiles,
  TlsFilesReader,
} from "./tls_files.ts";

/** How often the files' stamps are compared (a few stat calls). */
const CHECK_MS = 1000;

/** What the TLS listeners serve, for the banner. */
export interface TlsStatus {
  certificate: CertificateSummary;
  /** Why the files in force are not the files on disk (a broken file), if so. */
  problems: string[];
}

export class TlsFilesWatch {
  readonly #reader: TlsFilesReader;
  readonly #publish: (files: TlsFiles) => void;
  #problems: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `publish` sends changed files to every TLS isolate. */
  constructor(home: string, publish: (files: TlsFiles) => void) {
    this.#reader = new TlsFilesReader(home);
    this.#publish = publish;
  }

  /** The files in force (the last good ones): what a new TLS isolate starts with. */
  get files(): TlsFiles {
    return this.#reader.loaded.files;
  }

  /** Reads the files and from then on checks them every second; problems are logged. */
  start(): void {
    this.#log(this.refresh(false));
    this.#timer = setInterval(() => this.#log(this.refresh(false)), CHECK_MS);
    Deno.unrefTimer(this.#timer);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Re-reads the files whose stamps changed (all of them when `force`, as on
   * SIGHUP) and publishes what is in force when it changed. Returns each
   * broken file's message (what stays in force included), for the caller to
   * report.
   */
  refresh(force: boolean): string[] {
    const generation = this.#reader.generation;
    const problems = this.#reader.refresh(force);
    const changed = generation !== this.#reader.generation;
    if (problems.length > 0 || force || changed) this.#problems = problems;
    if (changed) this.#publish(this.files);
    return problems;
  }

  status(): TlsStatus {
    return {
      certificate: summarizeServerCertificate(this.files),
      problems: [...this.#problems],
    };
  }

  #log(problems: string[]): void {
    for (const problem of problems) logEvent("tls_error", `alert: ${problem}`);
  }
}
