/**
 * The LocalContext the local role runs deliveries with: the accounts
 * database (opened read-only when first needed), the host name, the clock,
 * and forwarding through the queue as qmail-local's qmail_open/qmail_close
 * (Received line "invoked by uid N").
 */
import { readControlLine } from "../../config/control.ts";
import { homePaths } from "../../config/home.ts";
import { AccountStore } from "../accounts/store.ts";
import type { RoleSettings } from "../ipc.ts";
import { injectMessage, QueueError } from "../queue/qmail_queue.ts";
import { MailError } from "../mail_error.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import type { LocalContext, LocalMailbox } from "./local.ts";

/** The accounts database, opened read-only when first needed (it may appear after start). */
class MailboxDirectory {
  readonly #home: string;
  #store: AccountStore | undefined;

  constructor(home: string) {
    this.#home = home;
  }

  find(domain: string, user: string): LocalMailbox | undefined {
    if (this.#store === undefined) {
      try {
        Deno.statSync(homePaths(this.#home).accounts);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined; // no mailboxes yet
        throw error;
      }
      this.#store = AccountStore.open(this.#home, { readonly: true });
    }
    return this.#store.findMailbox(domain, user);
  }

  close(): void {
    this.#store?.close();
    this.#store = undefined;
  }
}

/** gethostname(), else control/me, else localhost. */
export function hostnameFor(home: string): string {
  try {
    return Deno.hostname();
  } catch {
    return readControlLine(home, "me") ?? "localhost";
  }
}

function currentUid(): number {
  try {
    return Deno.uid() ?? 0;
  } catch {
    return 0;
  }
}

/**
 * Forwards as qmail-local's qmail_open/qmail_close: a queue refusal becomes
 * a MailError whose message is qmail_close's text without its status letter
 * (the QueueError, with path and errno for the log, is its cause).
 */
function forwardInjector(
  settings: RoleSettings,
  onQueued: (id: bigint) => void,
): LocalContext["inject"] {
  const layout = queueLayoutFor(settings.home);
  const who = `by uid ${currentUid()}`;
  return async (body, sender, recipients) => {
    try {
      const queued = await injectMessage(layout, body, sender, recipients, { who });
      onQueued(queued.id);
      return queued;
    } catch (error) {
      if (!(error instanceof QueueError)) throw error;
      throw new MailError(error.peerText, {
        temporary: error.temporary,
        logReason: error.logReason,
        cause: error,
      });
    }
  };
}

/** Builds the LocalContext the role uses; `close` releases the accounts database. */
export function createLocalContext(
  settings: RoleSettings<"local">,
  onQueued: (id: bigint) => void,
): { context: LocalContext; close(): void } {
  const mailboxes = new MailboxDirectory(settings.home);
  const defaultDelivery = settings.options.defaultDelivery;
  const context: LocalContext = {
    home: settings.home,
    layout: queueLayoutFor(settings.home),
    findMailbox: (domain, user) => mailboxes.find(domain, user),
    hostname: hostnameFor(settings.home),
    now: () => new Date(),
    inject: forwardInjector(settings, onQueued),
    defaultDelivery,
    env: settings.env,
  };
  return { context, close: () => mailboxes.close() };
}
