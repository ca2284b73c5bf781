/**
 * The queue-control API (`qmd queue`, qmail-remove, and the admin console
 * later): one request (queue/control_request.ts) in, plain data out. One
 * writer per queue transition: when qmd runs on the home, the request goes
 * to its supervisor (a request file and SIGUSR1, home/supervisor_requests.ts)
 * and on to the send role, which carries it out; when none runs, this
 * process carries it out itself while it holds lock/sendmutex, so a qmd
 * starting meanwhile cannot race it (its start fails with qmail's "already
 * running" and is retried by whoever runs it).
 */
import { findSupervisor } from "../home/running.ts";
import { answerSupervisorRequests, askSupervisor } from "../home/supervisor_requests.ts";
import { parseQueueRequest, type QueueReply, type QueueRequest } from "../queue/control_request.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { formatLogRecord, logEvent, setLogSink } from "../log.ts";
import { runQueueRequest } from "../send/engine/queue_actions.ts";
import { SendMutex } from "../send/engine/send_mutex.ts";
import { offlineQueueWriter } from "./offline_writer.ts";

/** The request files' kind (home/supervisor_requests.ts). */
const KIND = "queuereq";

/** What came back, or why nothing could be asked. */
export type ControlOutcome =
  | { ok: true; reply: QueueReply; pid?: number }
  | { ok: false; reason: string };

/**
 * Carries out `request` on the queue of `home` through its one writer.
 * `timeoutMs` bounds the wait for a running qmd's answer.
 */
export async function controlQueue(
  home: string,
  request: QueueRequest,
  timeoutMs = 10_000,
): Promise<ControlOutcome> {
  if (findSupervisor(home).ok) {
    const answer = await askSupervisor(home, KIND, JSON.stringify(request), timeoutMs);
    if (!answer.ok) return answer;
    return { ok: true, pid: answer.pid, reply: JSON.parse(answer.reply) as QueueReply };
  }
  const layout = queueLayoutFor(home);
  let mutex: SendMutex | undefined;
  try {
    mutex = SendMutex.take(layout.sendmutex);
  } catch (error) {
    // Reading needs no lock: a queue another qmail-send runs is listed from its files.
    if (request.action !== "list" && request.action !== "show") {
      return {
        ok: false,
        reason: `${(error as Error).message.replace(/^cannot start: /, "")} on ${layout.root} ` +
          `(lock/sendmutex is held) and does not answer qmd's requests; stop it or try again`,
      };
    }
  }
  // qmail-send's log lines (bounce msg, end msg) go to stderr, never into the command's output.
  setLogSink((record) => console.error(formatLogRecord(record, "text")), "queue");
  try {
    return {
      ok: true,
      reply: await runQueueRequest(layout, request, offlineQueueWriter(home, layout)),
    };
  } finally {
    mutex?.release();
  }
}

/**
 * The supervisor's side, on SIGUSR1: each queuereq request file is handed
 * to `carryOut` (the supervisor forwards it to the send role) and its reply
 * written back.
 */
export async function answerQueueRequests(
  home: string,
  carryOut: (request: QueueRequest) => Promise<QueueReply>,
): Promise<void> {
  await answerSupervisorRequests(home, KIND, async (text, path) => {
    const request = parseQueueRequest(text);
    if (request === undefined) {
      logEvent("queue_request_failed", `alert: ${path}: not a queue request`);
      return JSON.stringify(
        {
          now: Math.floor(Date.now() / 1000),
          by: "send role",
          error: "not a queue request",
        } satisfies QueueReply,
      );
    }
    return JSON.stringify(await carryOut(request));
  });
}
