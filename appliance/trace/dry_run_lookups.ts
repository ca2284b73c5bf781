/**
 * How `qmd rules test` and `qmd rules replay` answer the checks' lookups
 * (filters/filter.ts Lookup): DNS from one chosen resolver (--dns IP:PORT,
 * else control/dnsservers, else the system's resolv.conf), a program
 * (rcptcheck) run as the session would run it. Never done in a dry run, and
 * answered `temporary` with the reason: an SMTP callback to a foreign server
 * and greylisting (it would record the triplet); with `dns: false` (replay
 * without --dns) every DNS, SPF and callback lookup. Every answer is counted
 * by kind, so the caller can say what was not looked up.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import type { RunLookup } from "./dry_run.ts";
import { DnsClient } from "../dns/client.ts";
import { interpretAnswer } from "../dns/answer.ts";
import { isQueryableName } from "../dns/resolver.ts";
import { loadNameServers, type NameServer, parseNameServer } from "../dns/name_servers.ts";
import type { QueryType, RecordData } from "../dns/wire.ts";

export interface DryRunLookupOptions {
  home: string;
  /** --dns: the one resolver to ask; undefined: control/dnsservers, else resolv.conf. */
  nameServer?: NameServer;
  /** false: DNS, SPF and callbacks are answered temporary without asking (replay offline). */
  dns: boolean;
  /** Per query try (default 5). */
  timeoutSeconds?: number;
}

/** What the runner answered temporary without trying; the caller resets it between sessions. */
export interface LookupTally {
  /** The checks whose lookups needed DNS that was not allowed. */
  needsDns: Set<string>;
  /** Lookups answered temporary because a dry run never does them, with the reason. */
  skipped: string[];
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`, or why not. */
export function parseDnsFlag(text: string): NameServer | string {
  return parseNameServer(text);
}

const DNS_KINDS: ReadonlySet<Lookup["kind"]> = new Set(["dns", "spf", "callback"]);

/** A record as the checks read it: an address, "pref host" for MX, the target for PTR. */
function recordText(record: RecordData): string | undefined {
  switch (record.type) {
    case "A":
    case "AAAA":
      return record.address;
    case "MX":
      return `${record.preference} ${record.exchange}`;
    case "PTR":
      return record.target;
    default:
      return undefined;
  }
}

/** A lookup runner and the tally of what it did not try. */
export function dryRunLookups(
  options: DryRunLookupOptions,
): { run: RunLookup; tally: LookupTally } {
  const tally: LookupTally = { needsDns: new Set(), skipped: [] };
  let client: DnsClient | undefined;
  const dns = () =>
    client ??= new DnsClient({
      nameServers: options.nameServer === undefined
        ? loadNameServers(options.home)
        : [options.nameServer],
      timeoutMs: (options.timeoutSeconds ?? 5) * 1000,
      attempts: 1,
    });
  const temporary = (reason: string): LookupAnswer => ({ kind: "temporary", reason });
  const skip = (check: string, reason: string): LookupAnswer => {
    tally.skipped.push(`${check}: ${reason}`);
    return temporary(reason);
  };
  const run: RunLookup = async (lookup, check) => {
    if (!options.dns && DNS_KINDS.has(lookup.kind)) {
      tally.needsDns.add(check);
      return temporary("needs DNS (replay without --dns)");
    }
    try {
      switch (lookup.kind) {
        case "dns":
          return await queryDns(dns(), lookup.name, lookup.type);
        case "program":
          return await runProgram(lookup, options.home);
        case "callback":
          return skip(check, "a dry run makes no SMTP callback");
        case "greylist":
          return skip(check, "a dry run does not greylist (it would record the triplet)");
        case "spf":
        case "recipient":
          return skip(check, `no ${lookup.kind} lookup in this build`);
      }
    } catch (error) {
      return temporary(error instanceof Error ? error.message : String(error));
    }
  };
  return { run, tally };
}

async function queryDns(
  client: DnsClient,
  name: string,
  type: Lookup & { kind: "dns" } extends { type: infer T } ? T : never,
): Promise<LookupAnswer> {
  if (!isQueryableName(name)) return { kind: "dns", records: [], nxdomain: true };
  if (type === "TXT") return { kind: "temporary", reason: "no TXT lookups in this build" };
  const outcome = await client.query(name, type as QueryType);
  if (!outcome.ok) return { kind: "temporary", reason: outcome.reason };
  const answer = interpretAnswer(outcome.message, name, type as QueryType);
  if (answer.kind !== "found") {
    return { kind: "dns", records: [], nxdomain: answer.kind === "nxdomain" };
  }
  return {
    kind: "dns",
    records: answer.records.map(recordText).filter((text) => text !== undefined),
  };
}

/** A program lookup (rcptcheck): its exit code; a timeout or a failure to start is temporary. */
async function runProgram(
  lookup: Lookup & { kind: "program" },
  home: string,
): Promise<LookupAnswer> {
  const [program, ...args] = lookup.argv;
  if (program === undefined) return { kind: "temporary", reason: "no program" };
  const child = new Deno.Command(program, {
    args,
    cwd: home,
    env: { ...lookup.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), lookup.timeoutSeconds * 1000);
  });
  try {
    const result = await Promise.race([child.output(), timeout]);
    if (result === "timeout") {
      child.kill("SIGKILL");
      await child.status;
      return { kind: "temporary", reason: `${program} ran over ${lookup.timeoutSeconds} s` };
    }
    if (result.signal !== null) {
      return { kind: "temporary", reason: `${program} was killed by ${result.signal}` };
    }
    return {
      kind: "program",
      exitCode: result.code,
      output: new TextDecoder().decode(result.stdout).slice(0, 1000),
    };
  } finally {
    clearTimeout(timer);
  }
}
