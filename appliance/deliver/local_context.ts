/**
 * The LocalContext local delivery runs with, and the one the local role
 * builds: the accounts database (opened read-only when first needed), the
 * host name, the clock, and forwarding through the queue as qmail-local's
 * qmail_open/qmail_close (Received line "invoked by uid N").
 */
import { readControlLine } from "../../config/control.ts";
import { homePaths } from "../../config/home.ts";
import { AccountStore } from "../accounts/store.ts";
import type { RoleSettings } from "../ipc.ts";
import { injectMessage, QueueError } from "../queue/qmail_queue.ts";
import { MailError } from "../mail_error.ts";
import { type QueueLayout, queueLayoutFor } from "../queue/layout.ts";

/** A virtual mailbox as the accounts database describes it. */
export interface LocalMailbox {
  /** Absolute HOME/mail/DOMAIN/USER/Maildir. */
  maildir: string;
  /** Maildir++ limits; 0 = none. */
  quotaBytes: number;
  quotaMessages: number;
}

/** Everything local delivery needs from its surroundings (the role builds it). */
export interface LocalContext {
  /** The qmd home (QMAILHOME). */
  home: string;
  layout: QueueLayout;
  /** Case-insensitive accounts lookup; undefined when there is no such mailbox. */
  findMailbox(domain: string, user: string): LocalMailbox | undefined;
  /** gethostname(), for Maildir file names. */
  hostname: string;
  now(): Date;
  /**
   * Queues a forwarded message (qmail-queue as the user). Rejects with an
   * Error whose message is qmail's text without its status letter; it is
   * permanent only as a MailError that says so (isTemporary).
   */
  inject(
    body: Uint8Array | ReadableStream<Uint8Array>,
    sender: Uint8Array,
    recipients: Uint8Array[],
  ): Promise<{ id: bigint; qp: string }>;
  /** qmail-start's defaultdelivery for users/assign and alias users; default "./Maildir/". */
  defaultDelivery?: string;
  /** Variables layered over the inherited environment for |program lines. */
  env?: Record<string, string>;
  /** mbox lock wait; default 30 s. */
  mboxLockTimeoutMs?: number;
}

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
function forwardInjector(settings: RoleSettings): LocalContext["inject"] {
  const layout = queueLayoutFor(settings.home);
  const who = `by uid ${currentUid()}`;
  return async (body, sender, recipients) => {
    try {
      // The commit pulls lock/trigger, which wakes send (§3.2 step 11).
      return await injectMessage(layout, body, sender, recipients, { who });
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
): { context: LocalContext; close(): void } {
  const mailboxes = new MailboxDirectory(settings.home);
  const defaultDelivery = settings.options.defaultDelivery;
  const context: LocalContext = {
    home: settings.home,
    layout: queueLayoutFor(settings.home),
    findMailbox: (domain, user) => mailboxes.find(domain, user),
    hostname: hostnameFor(settings.home),
    now: () => new Date(),
    inject: forwardInjector(settings),
    defaultDelivery,
    env: settings.env,
  };
  return { context, close: () => mailboxes.close() };
}
