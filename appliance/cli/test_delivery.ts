/**
 * Test helper: one local delivery into a real home, routed and looked up as
 * the send and local roles do (control/locals, virtualdomains, users/assign,
 * the accounts database, .qmail files), with forwards recorded instead of
 * queued. Used by tests only.
 */
import { AccountStore } from "../accounts/store.ts";
import type { DeliveryReport } from "../ipc.ts";
import { deliverLocal } from "../deliver/local.ts";
import type { LocalContext } from "../deliver/local_context.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { traceDelivery } from "../aliases/delivery_trace.ts";

let nextId = 900_000;

/** Delivers `text` to `address` in `home`; returns the report and the recipients of forwards. */
export async function deliverInHome(
  home: string,
  address: string,
  text = "Subject: test\n\nbody\n",
): Promise<{ report: DeliveryReport; forwarded: string[] }> {
  const store = AccountStore.open(home);
  try {
    const trace = await traceDelivery(store, address);
    if (trace.channel !== "local") throw new Error(`${address} is not delivered locally`);
    const layout = queueLayoutFor(home);
    const id = nextId++;
    const path = layout.mess(id);
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
    const forwarded: string[] = [];
    const context: LocalContext = {
      home,
      layout,
      findMailbox: (domain, user) => store.findMailbox(domain, user),
      hostname: "test.example",
      now: () => new Date(),
      inject: (_body, _sender, recipients) => {
        forwarded.push(...recipients.map((r) => new TextDecoder().decode(r)));
        return Promise.resolve({ id: 1n, qp: "1" });
      },
    };
    const report = await deliverLocal({
      delivery: 1,
      id: String(id),
      mess: layout.messName(id),
      sender: "sender@example.net",
      recipient: trace.recipient,
    }, context);
    await Deno.remove(path);
    return { report, forwarded };
  } finally {
    store.close();
  }
}
