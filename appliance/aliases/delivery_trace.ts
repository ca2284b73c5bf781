/**
 * Where mail to an address would be delivered, found by the code the send
 * and local roles run: qmail-send's routing (locals, then virtualdomains,
 * §4.4) and qmail-lspawn's lookup with qmd's fallbacks (users/assign, the
 * accounts database, the domain's .qmail files, the alias user, §5.3). `qmd
 * user add` uses it so that what it tells the operator is what will happen.
 */
import { readSendControls } from "../../config/send.ts";
import { bytesToString } from "../bytes.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { buildRoutingTable, routeRecipient } from "../send/routing.ts";
import type { LocalContext } from "../deliver/local_context.ts";
import { type LocalUser, resolveLocalUser } from "../deliver/local_user.ts";
import type { AccountStore } from "../accounts/store.ts";

export type DeliveryTrace =
  | { channel: "remote" }
  | { channel: "local"; recipient: string; user: LocalUser };

/** Routes `address` (user@domain, lower case) and finds the local user that would take it. */
export async function traceDelivery(
  store: AccountStore,
  address: string,
): Promise<DeliveryTrace> {
  const home = store.home;
  const table = buildRoutingTable(readSendControls(home).routing);
  const route = routeRecipient(bytesToString(new TextEncoder().encode(address)), table);
  if (route.channel === "remote") return { channel: "remote" };
  const recipient = bytesToString(route.address);
  const at = recipient.lastIndexOf("@");
  const context: LocalContext = {
    home,
    layout: queueLayoutFor(home),
    findMailbox: (domain, user) => store.findMailbox(domain, user),
    hostname: "localhost",
    now: () => new Date(),
    inject: () => Promise.reject(new Error("A delivery trace delivers nothing")),
  };
  const user = await resolveLocalUser(context, recipient.slice(0, at), recipient.slice(at + 1));
  return { channel: "local", recipient, user };
}

/**
 * A warning when mail to the new mailbox `address` would not reach
 * `maildir`, saying where it would go instead; undefined when it arrives.
 */
export function describeMisdelivery(
  address: string,
  maildir: string,
  trace: DeliveryTrace,
): string | undefined {
  if (trace.channel === "remote") {
    return `mail to ${address} would not stay here: its domain is in neither ` +
      `control/locals nor control/virtualdomains, so it would be sent to the domain's MX`;
  }
  const { user, recipient } = trace;
  switch (user.source) {
    case "mailbox":
      if (user.mailbox?.maildir === maildir) return undefined;
      return `mail to ${address} goes to the Maildir ${user.mailbox?.maildir}, not to this one`;
    case "assign":
      return `users/assign gives ${localPart(recipient)} to user ${user.user} ` +
        `(home ${user.home}), so mail to ${address} goes there, not to this mailbox`;
    default:
      return `mail to ${address} is delivered as ${recipient} by the .qmail files in ` +
        `${user.home}, not to this mailbox (see control/virtualdomains)`;
  }
}

function localPart(recipient: string): string {
  return recipient.slice(0, recipient.lastIndexOf("@"));
}
