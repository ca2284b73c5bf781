/**
 * The lookups another role answers under `qmd start` (LOOKUP_ROLES in
 * ipc.ts: `recipient` by local, `greylist` by auth), answered in this
 * process instead, for `qmd smtpd` under tcpserver, which runs alone with
 * the permissions of the whole home. The same functions as the roles use
 * (deliver/local.ts wouldDeliverLocal, accounts/greylist_store.ts), so the
 * answers are the same.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import { wouldDeliverLocal } from "../deliver/local.ts";
import { createLocalContext, type LocalContext } from "../deliver/local_context.ts";
import { answerGreylistLookup, GreylistStore } from "../accounts/greylist_store.ts";

export class InProcessLookups {
  readonly #home: string;
  #local: { context: LocalContext; close(): void } | undefined;
  #greylist: GreylistStore | undefined;

  constructor(home: string) {
    this.#home = home;
  }

  /** The answer to a recipient or greylist lookup; anything that fails is temporary. */
  async answer(lookup: Lookup): Promise<LookupAnswer> {
    try {
      switch (lookup.kind) {
        case "recipient": {
          this.#local ??= createLocalContext({
            home: this.#home,
            env: {},
            options: { role: "local" },
          });
          const deliverable = await wouldDeliverLocal(lookup.address, this.#local.context);
          return { kind: "recipient", deliverable };
        }
        case "greylist":
          this.#greylist ??= GreylistStore.open(this.#home);
          return answerGreylistLookup(this.#greylist, lookup, Math.floor(Date.now() / 1000));
        default:
          return { kind: "temporary", reason: `not answered here: ${lookup.kind}` };
      }
    } catch (error) {
      return { kind: "temporary", reason: (error as Error).message };
    }
  }

  close(): void {
    this.#local?.close();
    this.#greylist?.close();
    this.#local = undefined;
    this.#greylist = undefined;
  }
}
