/**
 * The "callback" lookup (mfcheck 2, appliance/filters/mfcheck.ts): seed
 * 000's "testbounce" to the sender's mail exchanger. The MX hosts of the
 * sender's domain (or the domain itself, an implicit MX) are resolved with
 * qmd's resolver; addresses in control/mxblacklist are skipped, and when
 * nothing else is left the answer says `blacklisted`. Then, one address
 * after another until one answers: the greeting, `HELO me`, `MAIL FROM:<>`,
 * `RCPT TO:<sender>`, `QUIT` (no DATA: nothing is sent). A reply of 500 or
 * more to the RCPT is "not accepted" (seed 000's md20: only those; a
 * greylisting 4xx is not a refusal); 2xx is accepted; anything else, or no
 * exchanger that can be reached within timeoutmfcheck, is "temporary".
 *
 * The connection is remote delivery's client socket
 * (appliance/remote/client_socket.ts), so only the modules that own sockets
 * open them.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import { withoutBlacklisted } from "../filters/mxblacklist.ts";
import { senderDomain } from "../filters/mfcheck.ts";
import type { Resolver } from "../dns/resolver.ts";
import { type ClientSocket, connectClient } from "../remote/client_socket.ts";
import { localName } from "./local_name.ts";

export interface CallbackLookupOptions {
  resolver: Resolver;
  /** The name given in HELO (control/me). */
  helo: string;
  /** The port exchangers are asked on (25; tests give their fake MX's). */
  port?: number;
}

/** At most this many exchanger addresses are tried, as qmail-remote's own bound. */
const MAX_ADDRESSES = 10;

function code(lines: readonly string[]): number {
  const last = lines[lines.length - 1] ?? "";
  return /^\d{3}/.test(last) ? Number(last.slice(0, 3)) : 0;
}

/** The exchangers' addresses in preference order, or why there are none. */
async function exchangerAddresses(
  resolver: Resolver,
  domain: string,
): Promise<{ addresses: string[] } | { temporary: string } | { none: string }> {
  const mx = await resolver.mx(domain);
  if (!mx.ok) return mx.temporary ? { temporary: mx.reason } : { none: mx.reason };
  if (mx.value === "null") return { none: `${domain} has a null MX` };
  const hosts = mx.value === "none" ? [domain] : mx.value.map((host) => host.exchange);
  const addresses: string[] = [];
  let failure: string | undefined;
  for (const host of hosts) {
    const found = await resolver.addresses(host);
    if (found.ok) addresses.push(...found.value);
    else failure ??= found.reason;
  }
  if (addresses.length > 0) return { addresses };
  return { temporary: failure ?? `no address for the MX of ${domain}` };
}

/** One conversation; the RCPT's reply, or undefined when this exchanger could not be asked. */
async function ask(
  socket: ClientSocket,
  helo: string,
  sender: string,
  deadline: number,
): Promise<string[] | undefined> {
  const remaining = () => Math.max(1, deadline - Date.now());
  const step = async (command: string | undefined): Promise<string[]> => {
    if (command !== undefined) await socket.write(`${command}\r\n`, remaining());
    return await socket.readReply(remaining());
  };
  if (code(await step(undefined)) !== 220) return undefined;
  if (code(await step(`HELO ${helo}`)) !== 250) return undefined;
  if (code(await step("MAIL FROM:<>")) !== 250) return undefined;
  const reply = await step(`RCPT TO:<${sender}>`);
  await socket.write("QUIT\r\n", remaining()).catch(() => {});
  return reply;
}

/** Runs one callback lookup; never throws. */
export async function runCallbackLookup(
  lookup: Lookup & { kind: "callback" },
  options: CallbackLookupOptions,
): Promise<LookupAnswer> {
  const deadline = Date.now() + lookup.timeoutSeconds * 1000;
  const domain = senderDomain(lookup.sender);
  if (domain === undefined) return { kind: "callback", accepted: false, reply: "no domain" };
  const found = await exchangerAddresses(options.resolver, domain);
  if ("none" in found) return { kind: "callback", accepted: false, reply: found.none };
  if ("temporary" in found) return { kind: "temporary", reason: found.temporary };
  const usable = withoutBlacklisted(found.addresses, lookup.mxBlacklist ?? []);
  if (usable.length === 0) {
    return {
      kind: "callback",
      accepted: false,
      blacklisted: true,
      reply: `MX of ${domain} at ${found.addresses.join(", ")}`,
    };
  }
  let last = "no exchanger answered";
  for (const ip of usable.slice(0, MAX_ADDRESSES)) {
    if (Date.now() >= deadline) return { kind: "temporary", reason: "timeoutmfcheck passed" };
    let socket: ClientSocket | undefined;
    try {
      socket = await connectClient({
        ip,
        port: options.port ?? 25,
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
      const reply = await ask(socket, options.helo, lookup.sender, deadline);
      if (reply === undefined) {
        last = `${ip} did not take the callback`;
        continue;
      }
      const status = code(reply);
      const text = reply.join("\n");
      if (status >= 500) return { kind: "callback", accepted: false, reply: text };
      if (status >= 200 && status < 300) return { kind: "callback", accepted: true, reply: text };
      return { kind: "temporary", reason: `${ip}: ${text}` };
    } catch (error) {
      last = `${ip}: ${(error as Error).message}`;
    } finally {
      socket?.close();
    }
  }
  return { kind: "temporary", reason: last };
}

/** The runner for filter_lookups.ts: the role's resolver, HELO control/me, port 25. */
export function callbackRunner(
  lookup: Lookup & { kind: "callback" },
  context: { resolver: Resolver; home?: string },
): Promise<LookupAnswer> {
  return runCallbackLookup(lookup, { resolver: context.resolver, helo: localName(context.home) });
}
