/**
 * realrcptto (docs/patches.md, seeds 000 and 003: Paul Jarc's patch): a
 * recipient of a domain qmd delivers itself is refused at RCPT unless local
 * delivery would take it, so mail to a mailbox that does not exist is never
 * accepted and then bounced to a forged sender (backscatter).
 *
 * Routing is qmail-send's (send/routing.ts: locals, virtualdomains,
 * percenthack, envnoathost), so "delivered here" means what the queue will
 * do with the address. Whether delivery would take the routed address is the
 * local role's question (a `recipient` lookup): it answers with the same
 * user lookup and .qmail search a delivery runs (deliver/local.ts
 * wouldDeliverLocal), so the check and the delivery cannot disagree. Remote
 * recipients (relaying, a backup MX's domains) pass.
 */
import { bytesToString } from "../bytes.ts";
import { routeRecipient, type RoutingTable } from "../send/routing.ts";
import type { FilterCheck, FilterRequest, LookupAnswer, RuleRef, Verdict } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";

/** Seed 003's reply, as Paul Jarc's patch writes it. */
export const REPLY_NO_MAILBOX = "550 sorry, no mailbox here by that name. (#5.1.1)";
/** When the local role cannot say (a broken users/assign, a home it cannot read, no answer). */
export const REPLY_CANNOT_VERIFY = "451 unable to verify recipient (#4.3.0)";

/**
 * A BLACKLISTED client (seed 000's spam catcher) has every message sent to
 * the catcher's address whatever its RCPTs say, unless it authenticated
 * (md19): no recipient check refuses or greylists it, so the catcher gets
 * the spam it is there to eat.
 */
export function feedsSpamCatcher(request: FilterRequest): boolean {
  return request.env.BLACKLISTED !== undefined && request.authUser === undefined;
}

export interface RealRcptToSettings {
  /** qmail-send's routing lists, compiled. */
  routing: RoutingTable;
}

/** The address as the local channel would record it, or undefined when it goes remote. */
export function localAddress(recipient: string, routing: RoutingTable): string | undefined {
  const route = routeRecipient(recipient, routing);
  return route.channel === "local" ? bytesToString(route.address) : undefined;
}

function rule(request: FilterRequest): RuleRef {
  return { check: "realrcptto", entry: request.recipient ?? "" };
}

export const realRcptToCheck: FilterCheck<RealRcptToSettings> = {
  name: "realrcptto",
  phases: ["rcpt"],
  check(request, settings): Verdict {
    const recipient = request.recipient ?? "";
    if (recipient === "" || feedsSpamCatcher(request)) return PASS;
    const address = localAddress(recipient, settings.routing);
    if (address === undefined) return PASS;
    return { kind: "lookup", lookup: { kind: "recipient", address } };
  },
  resume(request, _settings, answer: LookupAnswer): Verdict {
    if (answer.kind === "recipient") {
      return answer.deliverable ? PASS : refuse(REPLY_NO_MAILBOX, rule(request));
    }
    const reason = answer.kind === "temporary" ? answer.reason : `unexpected ${answer.kind}`;
    return refuse(REPLY_CANNOT_VERIFY, {
      ...rule(request),
      entry: `${request.recipient}: ${reason}`,
    });
  },
};
