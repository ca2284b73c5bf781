/**
 * The acme role: control/acme's certificate renewer (RFC 8555) in its own
 * isolate, started by the supervisor when control/acme exists.
 *
 * Why an isolate of its own: it is the one part of qmd that talks HTTPS to a
 * CA and opens an HTTP listener to the internet (HTTP-01 on port 80), and
 * the one that writes the server's private key. The supervisor has every
 * permission and the admin isolate reads the whole home, so neither should
 * carry that. This isolate may connect only to the directory's host, listen
 * only on control/acme's http address, read control/ and HOME/acme, and
 * write only HOME/acme and control/servercert.pem (role_table.ts). The
 * certificate reaches the smtpd and pop3d isolates through the
 * supervisor's TLS watch, the same path as a file copied in by hand.
 *
 * It looks at start, when an order is due, and at least daily
 * (acme_renewer.ts); SIGHUP re-reads control/acme and looks again.
 */
import { type FromRole, rolePort, settingsFor } from "../ipc.ts";
import { type AcmeControls, loadAcmeControls } from "../../config/acme.ts";
import { controlErrorMessages, loadAllControls } from "../../config/control.ts";
import { logEvent } from "../log.ts";
import { AcmeRenewer } from "../tls/acme_renewer.ts";
import { acmeOrderer } from "../tls/acme_order.ts";
import { runRoleLoop } from "./worker_loop.ts";

/** What the isolate's net permission was granted for: a change needs a restart of qmd. */
function netTargets(controls: AcmeControls): string {
  return `${new URL(controls.directory).host} ${controls.http.host}:${controls.http.port}`;
}

function load(home: string): AcmeControls {
  const controls = loadAllControls(() => loadAcmeControls(home));
  if (controls === undefined) throw new Error(`${home}/control/acme: the file is gone`);
  return controls;
}

export function runAcmeWorker(): void {
  const post = (message: FromRole) => rolePort().postMessage(message);
  let home = "";
  let renewer: AcmeRenewer | undefined;
  let controls: AcmeControls | undefined;
  let granted = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  /** The one timer: the next look, `ms` from now. */
  const lookIn = (ms: number) => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => void look(), Math.max(0, ms));
  };
  /** One look now (after the one running, if any), then the next at the time it gives. */
  const look = (): Promise<void> => {
    clearTimeout(timer);
    running = (running ?? Promise.resolve()).then(async () => {
      if (stopped || renewer === undefined || controls === undefined) return;
      const next = await renewer.check(controls);
      lookIn(next.getTime() - Date.now());
    }).catch((error) => {
      // Not an order's failure (check() logs those): the state file could not be written, say.
      logEvent("acme_failed", `alert: acme: ${(error as Error).message}; retrying in an hour`);
      lookIn(60 * 60 * 1000);
    });
    return running;
  };

  runRoleLoop("acme", {
    start: (message) => {
      home = settingsFor(message.settings, "acme").home;
      controls = load(home);
      granted = netTargets(controls);
      renewer = new AcmeRenewer({ home, order: acmeOrderer(home) });
      post({ type: "ready" });
      void look();
    },
    reload: (message) => {
      let errors: string[] = [];
      try {
        const fresh = load(home);
        if (netTargets(fresh) !== granted) {
          errors = [
            `${home}/control/acme: a new directory host or http address takes effect when qmd ` +
            "restarts; still using the previous control/acme",
          ];
        } else {
          controls = fresh;
        }
      } catch (error) {
        errors = controlErrorMessages(error).map((text) =>
          `${text}; still using the previous control/acme`
        );
      }
      post({ type: "reloaded", round: message.round, errors });
      void look();
    },
    drain: () => {
      stopped = true;
      clearTimeout(timer);
      post({ type: "drained" });
    },
  }, post);
}

if (import.meta.main) runAcmeWorker();
