/**
 * The local role: qmail-lspawn in an isolate. Each `deliver` job from send
 * runs as qmail-local would (appliance/deliver/local.ts). It opens no
 * sockets: forwards go through the queue (injectMessage), as qmail-local's go
 * through qmail-queue, whose commit pulls lock/trigger to wake send.
 * The job loop, reports and drain are the delivery skeleton's
 * (delivery_role.ts).
 */
import { deliverLocal, wouldDeliverLocal } from "../deliver/local.ts";
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import { createLocalContext, hostnameFor, type LocalContext } from "../deliver/local_context.ts";
import type { DeliveryJob, DeliveryReport, FromRole, RoleSettings } from "../ipc.ts";
import { DeliveryRole, type DeliveryWork, runDeliveryWorker } from "./delivery_role.ts";

/** The local part of the skeleton: the delivery context and its accounts database. */
class LocalWork implements DeliveryWork<"local"> {
  #context: LocalContext | undefined;
  #close: () => void = () => {};

  open(settings: RoleSettings<"local">): void {
    const { context, close } = createLocalContext(settings);
    this.#context = context;
    this.#close = close;
  }

  deliver(job: DeliveryJob): Promise<DeliveryReport> {
    if (this.#context === undefined) throw new Error("the local context is not open");
    return deliverLocal(job, this.#context);
  }

  /** realrcptto's question: would a delivery to this routed address find a mailbox? */
  async lookup(lookup: Lookup): Promise<LookupAnswer> {
    if (this.#context === undefined) throw new Error("the local context is not open");
    if (lookup.kind !== "recipient") throw new Error(`local does not answer ${lookup.kind}`);
    return {
      kind: "recipient",
      deliverable: await wouldDeliverLocal(lookup.address, this.#context),
    };
  }

  /** SIGHUP: the host name may have changed; users/cdb is re-read per delivery anyway. */
  reload(): string[] {
    if (this.#context) this.#context.hostname = hostnameFor(this.#context.home);
    return [];
  }

  close(): void {
    this.#close();
  }
}

/** qmail-lspawn: deliveries in flight, reports, drain. */
export class LocalRole extends DeliveryRole<"local"> {
  constructor(post: (message: FromRole) => void) {
    super("local", post, new LocalWork(), "qmail-lspawn");
  }
}

if (import.meta.main) runDeliveryWorker("local", (post) => new LocalRole(post));
