/**
 * The send role: qmail-send (docs/queue-format.md §4) in a Worker. It starts a
 * SendEngine on the queue of the home in its settings, posts the engine's
 * deliveries to the supervisor (which forwards them to the channel's role),
 * feeds reports, flushes, reloads and peer restarts back in (lock/trigger
 * wakes the engine itself when a message is committed), and
 * drains on shutdown (ipc.ts role protocol, worker_loop.ts). The loop itself
 * lives in send/engine/, the controls in config/send.ts.
 */
import { settingsFor } from "../ipc.ts";
import { SendEngine } from "../send/engine/send_engine.ts";
import { rolePoster, runRoleLoop } from "./worker_loop.ts";

/** Connects a SendEngine to the supervisor's messages inside a Worker. */
export function runSendWorker(): void {
  const post = rolePoster();
  let started: Promise<SendEngine | undefined> = Promise.resolve(undefined);
  /** Runs `use` once the engine has started; nothing when it could not start. */
  const withEngine = (use: (engine: SendEngine) => void | Promise<void>) =>
    started.then((engine) => engine === undefined ? undefined : use(engine));
  runRoleLoop("send", {
    start: (message) => {
      const settings = settingsFor(message.settings, "send");
      const candidate = new SendEngine({
        home: settings.home,
        remoteDelivery: settings.options.remoteDelivery,
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
    },
    report: (message) =>
      withEngine((engine) => engine.report(message.report, message.channel ?? "local")),
    flush: () => withEngine((engine) => engine.flush()),
    "queue-control": (message) =>
      started.then(async (engine) => {
        const reply = engine === undefined
          ? {
            now: Math.floor(Date.now() / 1000),
            by: "send role" as const,
            error: "send did not start",
          }
          : await engine.control(message.action);
        post({ type: "queue-control-result", request: message.request, reply });
      }),
    reload: (message) =>
      withEngine((engine) =>
        post({ type: "reloaded", round: message.round, errors: engine.reload() })
      ),
    "peer-restarted": (message) => withEngine((engine) => engine.peerRestarted(message.role)),
    drain: () =>
      started.then(async (engine) => {
        await engine?.drain();
        post({ type: "drained" });
      }),
  }, post);
}

if (import.meta.main) runSendWorker();
