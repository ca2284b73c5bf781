/**
 * The send role: qmail-send (qmail-formats.md §4) in a Worker. It starts a
 * SendEngine on the queue of the home in its settings, posts the engine's
 * local deliveries to the supervisor (which forwards them to the local role),
 * feeds reports, triggers, flushes, reloads and peer restarts back in, and
 * drains on shutdown (ipc.ts role protocol). The loop itself lives in
 * queue/send_engine.ts, the controls in config/send.ts.
 */
import type { FromRole, ToRole } from "../ipc.ts";
import { setLogSink } from "../log.ts";
import { SendEngine } from "../send/engine/send_engine.ts";

interface WorkerScope {
  postMessage(message: FromRole): void;
  onmessage: ((event: MessageEvent<ToRole>) => void) | null;
}

/** Connects a SendEngine to the supervisor's messages inside a Worker. */
export function runSendWorker(scope: WorkerScope): void {
  const post = (message: FromRole) => scope.postMessage(message);
  setLogSink((record) => post({ type: "log", record }), "send");
  let started: Promise<SendEngine | undefined> = Promise.resolve(undefined);
  scope.onmessage = (event) => {
    const message = event.data;
    if (message.type === "start") {
      const settings = message.settings;
      const candidate = new SendEngine({
        home: settings.home,
        remoteDelivery: settings.options.remoteDelivery === true,
        deliver: (job, channel) => post({ type: "deliver", job, channel }),
      });
      started = candidate.start().then(() => {
        post({ type: "ready" });
        return candidate;
      }, (error) => {
        candidate.close();
        // The supervisor reports it once: "qmd: cannot start: send: ..." at start, a log line later.
        const text = (error as Error).message.replace(/^cannot start: /, "");
        post({ type: "fatal", message: `send: ${text}` });
        return undefined;
      });
      return;
    }
    started.then(async (target) => {
      if (target === undefined) {
        if (message.type === "drain") post({ type: "drained" });
        return;
      }
      switch (message.type) {
        case "report":
          target.report(message.report, message.channel ?? "local");
          break;
        case "trigger":
          target.trigger();
          break;
        case "flush":
          target.flush();
          break;
        case "reload":
          post({ type: "reloaded", round: message.round, errors: target.reload() });
          break;
        case "peer-restarted":
          target.peerRestarted(message.role);
          break;
        case "drain":
          await target.drain();
          post({ type: "drained" });
          break;
      }
    });
  };
}

const workerGlobal = (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
  .WorkerGlobalScope;
if (workerGlobal !== undefined && globalThis instanceof workerGlobal) {
  runSendWorker(globalThis as unknown as WorkerScope);
}
