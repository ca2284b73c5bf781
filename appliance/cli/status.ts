/**
 * `qmd status`: what the running appliance holds in memory that no file
 * shows: the failed-login blocks (SMTP AUTH and POP3) and the failures
 * counted towards them, from the supervisor's reply (home/login_blocks.ts).
 */
import { parseCommand } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import {
  AUTH_FAILURE_DEFAULTS,
  type AuthFailurePolicy,
  loadAuthFailurePolicy,
} from "../../config/auth_limits.ts";
import { askRunningQmd, type BlockReply } from "../home/login_blocks.ts";
import { describeFailureEntry } from "../net/auth_failures.ts";
import { EXIT } from "../exit_codes.ts";
import type { IsolateUsage } from "../isolate_usage.ts";

const NAME = "qmd status";

const USAGE = `usage: qmd status [--home DIR] [--json]

Asks the running qmd for its failed-login blocks (SMTP AUTH and POP3),
the failures still counted (control/authfaillimit per IP, authfailuserlimit
per user name at an IP, within authfaillock seconds) and each isolate's
CPU time and heap. qmd unblock lifts a block. Exits 111 when qmd is not running.
  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)
  --json       the supervisor's answer as JSON`;

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** One line per isolate: CPU seconds (user + system) since it started and its V8 heap. */
export function formatIsolates(isolates: IsolateUsage[]): string[] {
  const lines = ["isolates (CPU time of its own thread since it started, V8 heap used/total):"];
  for (const { isolate, usage } of isolates) {
    const name = isolate.padEnd(12);
    if (usage === undefined) {
      lines.push(`  ${name} did not answer in time`);
      continue;
    }
    const cpu = (usage.cpuUserMs + usage.cpuSystemMs) / 1000;
    const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
    lines.push(
      `  ${name} cpu ${cpu.toFixed(2)} s (user ${(usage.cpuUserMs / 1000).toFixed(2)}, system ${
        (usage.cpuSystemMs / 1000).toFixed(2)
      }), heap ${mb(usage.heapUsedBytes)}/${mb(usage.heapTotalBytes)} MB`,
    );
  }
  return lines;
}

/** The text report: blocks first, then failures still counted, then the isolates. */
export function formatStatus(
  home: string,
  pid: number,
  reply: BlockReply,
  policy: AuthFailurePolicy,
): string {
  const lines = [
    `qmd (pid ${pid}) on ${home}`,
    `failed logins: limit ${policy.ipLimit || "none"} per IP, ${
      policy.accountLimit || "none"
    } per user name at an IP, blocks last ${policy.lockSeconds} s` +
    (policy.lockTrusted ? "" : "; loopback and RELAYCLIENT clients are not counted"),
  ];
  const blocked = reply.entries.filter((entry) => entry.blockedUntil > reply.now);
  const counting = reply.entries.filter((entry) =>
    entry.blockedUntil <= reply.now && reply.now - entry.lastFailure < policy.lockSeconds
  );
  if (blocked.length === 0 && counting.length === 0) lines.push("  no blocks, no recent failures");
  for (const entry of blocked) {
    lines.push(
      `  blocked  ${describeFailureEntry(entry)}: ${entry.failures} failures, until ${
        isoTime(entry.blockedUntil)
      }`,
    );
  }
  for (const entry of counting) {
    lines.push(
      `  counting ${describeFailureEntry(entry)}: ${entry.failures} failures, last ${
        isoTime(entry.lastFailure)
      }`,
    );
  }
  if (reply.isolates !== undefined) lines.push(...formatIsolates(reply.isolates));
  return lines.join("\n");
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    positionals: false,
    options: { home: { type: "string" }, json: { type: "boolean" } },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  const answer = await askRunningQmd(home, { kind: "status" });
  if (!answer.ok) {
    console.error(`${NAME}: ${answer.reason}`);
    return EXIT.temporary;
  }
  if (parsed.values.json) {
    console.log(JSON.stringify({ pid: answer.pid, ...answer.reply }, null, 2));
  } else {
    let policy: AuthFailurePolicy;
    try {
      policy = loadAuthFailurePolicy(home);
    } catch (error) {
      console.error(`${NAME}: ${(error as Error).message}; showing the defaults`);
      policy = { ...AUTH_FAILURE_DEFAULTS, lockTrusted: false };
    }
    console.log(formatStatus(home, answer.pid, answer.reply, policy));
  }
  return EXIT.ok;
}
