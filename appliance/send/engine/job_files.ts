/**
 * The channel-file handles of qmail-send's jobs (docs/queue-format.md §4.5,
 * §4.6): a pass opens local/ID or remote/ID once and keeps the handle while
 * the job has references (the pass, or deliveries in flight), so marking
 * each recipient done is a seek and a one-byte write.
 */
import { type QueueLayout, queueName } from "../../queue/layout.ts";
import { markDone, markDoneAt } from "../../queue/transitions.ts";
import { logWarning } from "../../log.ts";
import type { PassJob } from "../scheduler.ts";

/** What is kept for a job until its last reference is released. */
export interface JobFile {
  /** The channel file. */
  path: string;
  /** The pass's handle on it, for marking records done; see openChannelFile. */
  file: Deno.FsFile | undefined;
  /** The message number and its mess name as deliveries carry them. */
  id: string;
  mess: string;
}

/** The open channel files of the jobs with references left. */
export class JobFiles {
  #layout: QueueLayout;
  #jobs = new Map<PassJob, JobFile>();

  constructor(layout: QueueLayout) {
    this.#layout = layout;
  }

  /** Registers a job whose pass opened its channel file (`file` undefined: opened read-only). */
  add(job: PassJob, file: Deno.FsFile | undefined): void {
    this.#jobs.set(job, {
      path: this.#layout.channel(job.channel, job.id),
      file,
      id: String(job.id),
      mess: this.#layout.messName(job.id),
    });
  }

  /** The files of a job (a job is registered when its pass opens). */
  of(job: PassJob): JobFile {
    let files = this.#jobs.get(job);
    if (files === undefined) {
      files = {
        path: this.#layout.channel(job.channel, job.id),
        file: undefined,
        id: String(job.id),
        mess: this.#layout.messName(job.id),
      };
      this.#jobs.set(job, files);
    }
    return files;
  }

  /**
   * Marks the record at `offset` done (§4.5), through the pass's handle when
   * there is one; logs qmail's warning when that fails.
   */
  markDone(job: PassJob, offset: number): void {
    const files = this.of(job);
    const marked = files.file === undefined
      ? markDone(files.path, offset)
      : markDoneAt(files.file, offset);
    if (!marked) {
      logWarning(
        `trouble marking ${queueName(this.#layout, files.path)}; message will be delivered twice!`,
      );
    }
  }

  /** A job's last reference is gone: close its channel file handle. */
  close(job: PassJob): void {
    const files = this.#jobs.get(job);
    if (files === undefined) return;
    this.#jobs.delete(job);
    try {
      files.file?.close();
    } catch {
      // Already closed.
    }
  }

  /** Closes the handles of jobs without references (a drain abandoned their passes). */
  closeUnreferenced(): void {
    for (const job of this.#jobs.keys()) if (job.refs <= 0) this.close(job);
  }

  /** Closes every handle. */
  closeAll(): void {
    for (const job of this.#jobs.keys()) this.close(job);
  }
}
