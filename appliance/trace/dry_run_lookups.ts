/**
 * How `qmd rules test` and `qmd rules replay` answer the checks' lookups
 * (filters/filter.ts Lookup): with the session's own runners
 * (net/filter_lookups.ts LOOKUP_RUNNERS), DNS going to one chosen resolver
 * (--dns IP:PORT, else control/dnsservers, else the system's resolv.conf),
 * and a program (rcptcheck) run as the session would run it. Never done in
 * a dry run, and answered `temporary` with the reason: an SMTP callback to a
 * foreign server and greylisting (it would record the triplet); with
 * `dns: false` (replay without --dns) every DNS, SPF and callback lookup.
 * The caller's tally says which checks needed DNS and what was not looked up.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import type { RunLookup } from "./dry_run.ts";
import { Resolver } from "../dns/resolver.ts";
import { type NameServer, parseNameServer } from "../dns/name_servers.ts";
import { LOOKUP_RUNNERS, type LookupRunners, runLookup } from "../net/filter_lookups.ts";

export interface DryRunLookupOptions {
  home: string;
  /** --dns: the one resolver to ask; undefined: control/dnsservers, else resolv.conf. */
  nameServer?: NameServer;
  /** false: DNS, SPF and callbacks are answered temporary without asking (replay offline). */
  dns: boolean;
  /** Per query try (default 5). */
  timeoutSeconds?: number;
  /** The runners (default LOOKUP_RUNNERS; tests give their own). */
  runners?: LookupRunners;
}

/** What the runner answered temporary without trying; the caller resets it between sessions. */
export interface LookupTally {
  /** The checks whose lookups needed DNS that was not allowed. */
  needsDns: Set<string>;
  /** Lookups answered temporary because a dry run does not do them, with the reason. */
  skipped: string[];
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`, or why not. */
export function parseDnsFlag(text: string): NameServer | string {
  return parseNameServer(text);
}

const DNS_KINDS: ReadonlySet<Lookup["kind"]> = new Set(["dns", "spf", "callback"]);

/** Longest a lookup may take in a dry run when it names no timeout of its own. */
const DEFAULT_SECONDS = 10;

/** A lookup runner and the tally of what it did not try. */
export function dryRunLookups(
  options: DryRunLookupOptions,
): { run: RunLookup; tally: LookupTally } {
  const tally: LookupTally = { needsDns: new Set(), skipped: [] };
  const runners = options.runners ?? LOOKUP_RUNNERS;
  let resolver: Resolver | undefined;
  const context = () => ({
    resolver: resolver ??= new Resolver({
      ...(options.nameServer === undefined
        ? { home: options.home }
        : { nameServers: [options.nameServer] }),
      timeoutSeconds: options.timeoutSeconds ?? 5,
      attempts: 1,
    }),
    home: options.home,
    sessionId: "dry-run",
  });
  const skip = (check: string, reason: string): LookupAnswer => {
    tally.skipped.push(`${check}: ${reason}`);
    return { kind: "temporary", reason };
  };
  const run: RunLookup = async (lookup, check) => {
    if (!options.dns && DNS_KINDS.has(lookup.kind)) {
      tally.needsDns.add(check);
      return { kind: "temporary", reason: "needs DNS (replay without --dns)" };
    }
    if (lookup.kind === "callback") return skip(check, "a dry run makes no SMTP callback");
    if (lookup.kind === "greylist") {
      return skip(check, "a dry run does not greylist (it would record the triplet)");
    }
    if (lookup.kind === "program" && runners.program === undefined) {
      return await runProgram(lookup, options.home);
    }
    if (runners[lookup.kind] === undefined) return skip(check, `no runner for ${lookup.kind}`);
    return await runLookup(lookup, context(), { runners, defaultSeconds: DEFAULT_SECONDS });
  };
  return { run, tally };
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
