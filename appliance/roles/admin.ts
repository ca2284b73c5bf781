/**
 * The admin role: serves the console (admin/app.ts) on its one address.
 * It follows every role's arc: receive its settings, listen, then live on
 * what the supervisor feeds it (log records and counters, admin_feed.ts);
 * a reload needs nothing of it (it reads the home per request); on drain
 * it ends the live log streams and stops listening. Asking for a reload is
 * a message to the supervisor, as SIGHUP is, and so is every change to a
 * control file or an account (admin-write): this isolate writes only
 * HOME/admin.
 */
import { type FromRole, rolePort, settingsFor } from "../ipc.ts";
import { logEvent } from "../log.ts";
import { runRoleLoop } from "./worker_loop.ts";
import { formatListenAddress } from "../net/listen_probe.ts";
import { createAdminApp } from "../admin/app.ts";
import type { AdminContext } from "../admin/context.ts";
import { LogHub } from "../admin/log_hub.ts";
import { LoginGuard } from "../admin/login_guard.ts";
import { SessionStore } from "../admin/session_store.ts";
import { QueueSampler } from "../admin/queue_view.ts";
import type { CounterSnapshot } from "../log_counters.ts";
import { LogCounters } from "../log_counters.ts";
import type { AdminWrite, AdminWriteResult } from "../admin/admin_writes.ts";

const post = (message: FromRole) => rolePort().postMessage(message);

/** One sample of the queue's size a minute, for the dashboard. */
const SAMPLE_MS = 60_000;

let counters: CounterSnapshot = new LogCounters().snapshot();
const log = new LogHub();
let server: Deno.HttpServer<Deno.NetAddr> | undefined;
let sampler: ReturnType<typeof setInterval> | undefined;
/** The admin-writes waiting for the supervisor's answer, by request number. */
const writes = new Map<number, (result: AdminWriteResult) => void>();
let nextWrite = 1;

/** Asks the supervisor to make a change this isolate may not write (admin_writes.ts). */
function askWrite(write: AdminWrite): Promise<AdminWriteResult> {
  const request = nextWrite++;
  return new Promise((resolve) => {
    writes.set(request, resolve);
    post({ type: "admin-write", request, write });
  });
}

/** Runs the role inside a Worker. */
export function runAdminWorker(): void {
  runRoleLoop("admin", {
    start: (message) => {
      const settings = settingsFor(message.settings, "admin");
      const { host, port } = settings.options.listen;
      const certificate = settings.options.tls ? settings.tls?.server : undefined;
      if (settings.options.tls && certificate === undefined) {
        throw new Error(
          "--admin-tls needs a usable control/servercert.pem (key and certificate); see the tls line",
        );
      }
      const scheme = certificate === undefined ? "http" : "https";
      const queue = new QueueSampler(settings.home);
      const context: AdminContext = {
        home: settings.home,
        counters: () => counters,
        log,
        queue,
        sessions: new SessionStore(),
        logins: new LoginGuard(),
        reload: () => post({ type: "reload-request" }),
        write: askWrite,
        now: () => Date.now(),
        secure: certificate !== undefined,
      };
      const app = createAdminApp(context);
      queue.sample();
      sampler = setInterval(() => queue.sample(), SAMPLE_MS);
      server = Deno.serve({
        hostname: host,
        port,
        // The certificate the mail listeners serve, as the supervisor last found it good.
        ...(certificate === undefined ? {} : { cert: certificate.chain, key: certificate.key }),
        // Port 0 (tests): the kernel's choice, told to the supervisor for the banner.
        onListen: (address) => {
          const where = `${scheme}://${formatListenAddress(host, address.port)}/`;
          logEvent("admin_listen", `admin: console on ${where}`, { host, port: address.port });
          post({ type: "ready", listening: { host, port: address.port } });
        },
      }, (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr.hostname }));
    },
    "admin-feed": (message) => {
      counters = message.counters;
      log.add(message.records);
    },
    "admin-write-result": (message) => {
      writes.get(message.request)?.(message.result);
      writes.delete(message.request);
    },
    reload: (message) => post({ type: "reloaded", round: message.round, errors: [] }),
    drain: async () => {
      clearInterval(sampler);
      log.close();
      await server?.shutdown();
      post({ type: "drained" });
    },
  }, post);
}

if (import.meta.main) runAdminWorker();
