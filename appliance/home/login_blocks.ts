/**
 * Asking the running appliance about failed-login blocks: the table lives in
 * the appliance's memory (net/auth_failures.ts), so `qmd status` and `qmd
 * unblock` ask the supervisor through a request file and SIGUSR1
 * (supervisor_requests.ts).
 *
 *   queue/lock/authreq.PID          "status" or "unblock IP|NAME" (one line)
 *   queue/lock/authreq.PID.reply    JSON: BlockReply
 */
import { logEvent } from "../log.ts";
import {
  type AuthFailures,
  describeFailureEntry,
  type FailureEntry,
} from "../net/auth_failures.ts";
import { answerSupervisorRequests, askSupervisor } from "./supervisor_requests.ts";
import type { IsolateUsage } from "../isolate_usage.ts";

export type BlockRequest =
  | { kind: "status" }
  | { kind: "unblock"; target: { ip: string } | { account: string } };

export interface BlockReply {
  /** Unix seconds when the supervisor answered. */
  now: number;
  /** Records with failures or a block, after the request was carried out. */
  entries: FailureEntry[];
  /** For unblock: the records removed. */
  removed?: FailureEntry[];
  /** For status: each isolate's CPU time and heap (isolate_usage.ts). */
  isolates?: IsolateUsage[];
}

/** The request files' kind (supervisor_requests.ts). */
const KIND = "authreq";
/** The longest user name an unblock request may carry. */
const MAX_TARGET = 255;

/** A dotted-quad IPv4 address, or an IPv6 address as a URL host accepts it. */
function isIpAddress(text: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split(".").every((n) => Number(n) <= 255);
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

/** An unblock target from the command line: an IP address, else a user name as logins give it. */
export function parseBlockTarget(text: string): { ip: string } | { account: string } | undefined {
  // deno-lint-ignore no-control-regex
  if (text === "" || text.length > MAX_TARGET || /[\s\x00-\x1f\x7f]/.test(text)) return undefined;
  const bare = text.replace(/^\[(.*)\]$/, "$1");
  return isIpAddress(bare) ? { ip: bare } : { account: text };
}

export function formatBlockRequest(request: BlockRequest): string {
  if (request.kind === "status") return "status\n";
  const target = request.target;
  return `unblock ${"ip" in target ? target.ip : target.account}\n`;
}

export function parseBlockRequest(text: string): BlockRequest | undefined {
  const line = text.split("\n", 1)[0];
  if (line === "status") return { kind: "status" };
  if (!line.startsWith("unblock ")) return undefined;
  const target = parseBlockTarget(line.slice("unblock ".length));
  return target === undefined ? undefined : { kind: "unblock", target };
}

/** Carries out one request against the table, logging an unblock as auth_unblock. */
export function answerBlockRequest(
  table: AuthFailures,
  request: BlockRequest,
  now: number,
): BlockReply {
  if (request.kind === "status") return { now, entries: table.entries() };
  const target = request.target;
  const removed = table.unblock(target);
  const name = "ip" in target ? target.ip : JSON.stringify(target.account);
  logEvent("auth_unblock", `status: auth_unblock ${name}: ${summariseRemoved(removed, now)}`, {
    target: "ip" in target ? target.ip : target.account,
    removed: removed.length,
  });
  return { now, entries: table.entries(), removed };
}

/** `unblocked A (10 failures), B (5 failures); cleared N other records`, for the log and the command. */
export function summariseRemoved(removed: FailureEntry[], now: number): string {
  if (removed.length === 0) return "nothing was recorded";
  const blocked = removed.filter((entry) => entry.blockedUntil > now);
  const others = removed.length - blocked.length;
  const parts: string[] = [];
  if (blocked.length > 0) {
    parts.push(
      "unblocked " +
        blocked.map((entry) => `${describeFailureEntry(entry)} (${entry.failures} failures)`)
          .join(", "),
    );
  }
  if (others > 0) {
    parts.push(`cleared ${others} other record${others === 1 ? "" : "s"} of failures`);
  }
  return parts.join("; ");
}

/**
 * The supervisor's side, on SIGUSR1: answers every authreq request file in
 * queue/lock/ (supervisor_requests.ts). Never throws: a request it cannot
 * read is removed and logged. `isolates` adds each isolate's CPU time and
 * heap to a status answer.
 */
export async function answerBlockRequests(
  home: string,
  table: AuthFailures,
  isolates?: () => Promise<IsolateUsage[]>,
): Promise<void> {
  await answerSupervisorRequests(home, KIND, async (text, path) => {
    const request = parseBlockRequest(text);
    if (request === undefined) {
      logEvent("auth_request_failed", `alert: ${path}: not a status or unblock request`);
      return undefined;
    }
    const reply = answerBlockRequest(table, request, Math.floor(Date.now() / 1000));
    if (request.kind === "status" && isolates !== undefined) reply.isolates = await isolates();
    return JSON.stringify(reply);
  });
}

/** The command's side: sends the request and waits (at most `timeoutMs`) for the reply. */
export async function askRunningQmd(
  home: string,
  request: BlockRequest,
  timeoutMs = 10_000,
): Promise<{ ok: true; pid: number; reply: BlockReply } | { ok: false; reason: string }> {
  const answer = await askSupervisor(home, KIND, formatBlockRequest(request), timeoutMs);
  if (!answer.ok) return answer;
  return { ok: true, pid: answer.pid, reply: JSON.parse(answer.reply) as BlockReply };
}
