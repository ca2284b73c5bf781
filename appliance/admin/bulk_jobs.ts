/**
 * Bulk queue actions as jobs: the selected messages are handed to the
 * queue one request at a time, so the page (and GET /api/queue/jobs/ID)
 * can show how many are done while the rest wait. A job lives in the admin
 * isolate's memory; the newest JOBS_KEPT are kept.
 */
import type { QueueActionResult } from "../queue/control_request.ts";

/** How many jobs are remembered (the oldest are forgotten first). */
const JOBS_KEPT = 50;

export interface BulkJob {
  id: string;
  action: string;
  /** The messages, in the order they are processed. */
  ids: string[];
  /** One result per message done so far. */
  results: QueueActionResult[];
  finished: boolean;
}

/** What is done to one message: its result (a failure is a result, not a throw). */
export type BulkStep = (id: string) => Promise<QueueActionResult>;

export class BulkJobs {
  readonly #jobs = new Map<string, BulkJob>();

  /** Starts a job; its steps run one after another in the background. */
  start(action: string, ids: readonly string[], step: BulkStep): BulkJob {
    const job: BulkJob = {
      id: crypto.randomUUID(),
      action,
      ids: [...ids],
      results: [],
      finished: false,
    };
    this.#jobs.set(job.id, job);
    while (this.#jobs.size > JOBS_KEPT) this.#jobs.delete(this.#jobs.keys().next().value!);
    void this.#run(job, step);
    return job;
  }

  async #run(job: BulkJob, step: BulkStep): Promise<void> {
    for (const id of job.ids) {
      try {
        job.results.push(await step(id));
      } catch (error) {
        job.results.push({ id, ok: false, text: (error as Error).message });
      }
    }
    job.finished = true;
  }

  find(id: string): BulkJob | undefined {
    return this.#jobs.get(id);
  }
}
