/**
 * `qmd rules test` and `qmd rules replay`: the anti-spam and policy checks
 * (config/filter_modules.ts, config/content_modules.ts) run offline against
 * the home's current control files, so an operator sees what a change does
 * before it goes live. The work is appliance/trace/dry_run.ts; this file
 * reads the flags, the home and the input, and prints.
 */
import { findHomeProblem, homePaths, resolveHome } from "../../config/home.ts";
import { ControlError } from "../../config/control.ts";
import { loadTcpRules, type TcpRulesTable } from "../../config/tcprules.ts";
import {
  activeChecks,
  FILTER_MODULES,
  type FilterControls,
  type FilterModule,
  loadFilterControls,
} from "../policy/filter_modules.ts";
import {
  CONTENT_MODULES,
  type ContentControls,
  type ContentModule,
  loadContentControls,
} from "../policy/content_modules.ts";
import type { FilterRequest } from "../filters/filter.ts";
import { parseCommand, usageError } from "./args.ts";
import { EXIT } from "../exit_codes.ts";
import { dryRunSession, type NamedScan, scanMessage } from "../trace/dry_run.ts";
import { dryRunLookups, parseDnsFlag } from "../trace/dry_run_lookups.ts";
import { formatDecision, formatRuleRef } from "../trace/explain_format.ts";
import { formatReplayReport, ReplayReader, ReplayTally } from "../trace/replay.ts";
import { readLines } from "../trace/store.ts";
import type { NameServer } from "../dns/name_servers.ts";

const NAME = "qmd rules";

const USAGE = `usage: qmd rules test --ip A [--helo H] [--from S] [--to R [--to R2 ...]]
                      [--message FILE] [--dns IP:PORT] [--env K=V ...]
                      [--listener smtp|submission|smtps] [--home DIR]
       qmd rules replay LOGFILE [LOGFILE ...] [--dns IP:PORT] [--json] [--home DIR]

test puts one made-up session to every check that is on for the client,
offline, with the home's current control files: connect from A, HELO H,
MAIL FROM S, RCPT TO each R, DATA and the end of the message (FILE, if given,
goes through the content scans). It prints one line per decision and the
session's verdict. Unlike a session it goes on after a refusal, to show what
every check would say. The verdict is the session's: the first refusal
outside RCPT (or the RCPTs' when none was taken), else accepted for the
recipients taken.

replay reads logged sessions and puts each to the current control files,
then prints how many sessions each rule would hit (check, control file and
line). LOGFILE is a decision trace file (HOME/log/trace/DAY.jsonl) or qmd's
log, text or JSON (its reject lines carry the client, HELO, sender and
recipients); - reads standard input.

The client's environment is tcp.smtp's for its IP (=host rules are not
matched offline), then each --env K=V; RELAYCLIENT in it means relaying.
DNS lookups go to --dns IP:PORT, else control/dnsservers, else the system's
resolver; replay without --dns answers every DNS lookup "temporary" and
counts those sessions as needing DNS. A dry run never greylists (it would
record the triplet) nor makes an SMTP callback.

  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)

Exit codes: 0 done (test: the session would be accepted), 1 test: it would
be refused, 64 usage, 100 a control file is broken or no usable home,
111 an input cannot be read.
`;

/** The check tables a run uses; tests give their own. */
export interface RuleModules {
  filters: readonly FilterModule[];
  content: readonly ContentModule[];
}

const DEFAULT_MODULES: RuleModules = { filters: FILTER_MODULES, content: CONTENT_MODULES };

/** test: the session would be refused. */
const REFUSED = 1;

interface Loaded {
  home: string;
  filters: FilterControls;
  content: ContentControls;
  tcpRules: TcpRulesTable | undefined;
}

/** The home's controls, or the exit code after saying why not. */
function loadHome(flag: string | undefined, name: string, modules: RuleModules): Loaded | number {
  const home = resolveHome(flag);
  const problem = findHomeProblem(home);
  if (problem !== undefined) {
    console.error(`${name}: ${problem}`);
    return EXIT.permanent;
  }
  try {
    return {
      home,
      filters: loadFilterControls(home, modules.filters),
      content: loadContentControls(home, modules.content),
      tcpRules: loadTcpRules(homePaths(home).tcpSmtp),
    };
  } catch (error) {
    if (!(error instanceof ControlError)) throw error;
    console.error(`${name}: ${error.message}`);
    return EXIT.permanent;
  }
}

/** tcp.smtp's variables for this IP, then the --env ones. */
function clientEnv(
  loaded: Loaded,
  ip: string,
  extra: Record<string, string>,
): Record<string, string> {
  const rule = loaded.tcpRules?.lookup({ ip, host: undefined });
  return { ...(rule?.env ?? {}), ...extra };
}

function parseDns(name: string, value: string | undefined): NameServer | undefined | number {
  if (value === undefined) return undefined;
  const parsed = parseDnsFlag(value);
  return typeof parsed === "string" ? usageError(name, `--dns ${parsed}`) : parsed;
}

/** `qmd rules test`. */
export async function rulesTest(
  args: string[],
  modules: RuleModules = DEFAULT_MODULES,
): Promise<number> {
  const name = `${NAME} test`;
  const parsed = parseCommand({
    name,
    usage: USAGE,
    options: {
      home: { type: "string" },
      ip: { type: "string" },
      helo: { type: "string" },
      from: { type: "string" },
      to: { type: "string", multiple: true },
      message: { type: "string" },
      dns: { type: "string" },
      env: { type: "string", multiple: true },
      listener: { type: "string" },
    },
    positionals: false,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const values = parsed.values;
  if (values.ip === undefined || values.ip === "") return usageError(name, "--ip needs an address");
  const listener = values.listener ?? "smtp";
  if (!["smtp", "submission", "smtps"].includes(listener)) {
    return usageError(
      name,
      `--listener ${JSON.stringify(listener)} is not smtp, submission or smtps`,
    );
  }
  const extraEnv: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return usageError(name, `--env ${JSON.stringify(pair)} is not K=V`);
    extraEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const nameServer = parseDns(name, values.dns);
  if (typeof nameServer === "number") return nameServer;
  const recipients = values.to ?? [];
  if (recipients.length > 0 && values.from === undefined) {
    return usageError(name, "--to needs --from (RCPT comes after MAIL)");
  }
  let message: Uint8Array | undefined;
  if (values.message !== undefined) {
    try {
      message = await Deno.readFile(values.message);
    } catch (error) {
      console.error(`${name}: cannot read ${values.message}: ${(error as Error).message}`);
      return EXIT.temporary;
    }
  }
  const loaded = loadHome(values.home, name, modules);
  if (typeof loaded === "number") return loaded;

  const env = clientEnv(loaded, values.ip, extraEnv);
  const checks = activeChecks(
    loaded.filters,
    { env, remoteIp: values.ip, listener },
    modules.filters,
  );
  const lookups = dryRunLookups({ home: loaded.home, nameServer, dns: true });
  const scans = async (request: FilterRequest) => {
    if (message === undefined) return [];
    const begun: NamedScan[] = [];
    modules.content.forEach((module, i) => {
      const scan = module.begin(loaded.content[i], { ...request, phase: "data" });
      if (scan !== undefined) begun.push({ name: module.name, scan });
    });
    return await scanMessage(begun, message, request);
  };
  const session = {
    remoteIp: values.ip,
    helo: values.helo,
    sender: values.from,
    recipients,
    env,
    relaying: env.RELAYCLIENT !== undefined,
    tls: listener === "smtps",
    now: Date.now(),
  };
  const result = await dryRunSession(checks, session, lookups.run, "every", scans);

  console.log(
    `${name}: client ${values.ip}${values.helo === undefined ? "" : `, HELO ${values.helo}`}${
      values.from === undefined ? "" : `, MAIL FROM <${values.from}>`
    }${recipients.map((r) => `, RCPT TO <${r}>`).join("")}${
      message === undefined ? "" : `, message ${values.message} (${message.length} bytes)`
    }`,
  );
  if (checks.length === 0 && (message === undefined || modules.content.length === 0)) {
    console.log("no check is on for this client");
  } else {
    console.log(
      "every check is asked, even after one refused (a session stops at the first refusal " +
        "of a phase); the verdict is the session's",
    );
  }
  for (const phase of result.phases) {
    for (const decision of phase.decisions) console.log(formatDecision(decision));
  }
  for (const skipped of lookups.tally.skipped) console.log(`not looked up: ${skipped}`);
  for (const phase of result.phases) {
    if (phase.phase !== "rcpt" || phase.outcome !== "refuse" || result.accepted.length === 0) {
      continue;
    }
    console.log(`recipient refused: <${phase.input}> by ${phase.decidedBy!.check}`);
  }
  if (result.refusal !== undefined) {
    const { phase, decision } = result.refusal;
    console.log(
      `verdict: refused at ${phase} by ${decision.check}${
        decision.rule === undefined ? "" : ` (${formatRuleRef(decision.rule)})`
      }: ${decision.reply ?? ""}`,
    );
    return REFUSED;
  }
  console.log(
    recipients.length === 0
      ? "verdict: nothing refused"
      : `verdict: accepted for ${result.accepted.map((r) => `<${r}>`).join(", ")}`,
  );
  return EXIT.ok;
}

/** `qmd rules replay`. */
export async function rulesReplay(
  args: string[],
  modules: RuleModules = DEFAULT_MODULES,
): Promise<number> {
  const name = `${NAME} replay`;
  const parsed = parseCommand({
    name,
    usage: USAGE,
    options: { home: { type: "string" }, dns: { type: "string" }, json: { type: "boolean" } },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  if (parsed.positionals.length === 0) return usageError(name, "expected a LOGFILE");
  const nameServer = parseDns(name, parsed.values.dns);
  if (typeof nameServer === "number") return nameServer;
  const loaded = loadHome(parsed.values.home, name, modules);
  if (typeof loaded === "number") return loaded;

  const reader = new ReplayReader();
  for (const file of parsed.positionals) {
    try {
      for await (const line of readLines(file === "-" ? Deno.stdin.readable : file)) {
        reader.add(line);
      }
    } catch (error) {
      console.error(`${name}: cannot read ${file}: ${(error as Error).message}`);
      return EXIT.temporary;
    }
  }
  const dns = parsed.values.dns !== undefined;
  const lookups = dryRunLookups({ home: loaded.home, nameServer, dns });
  const tally = new ReplayTally();
  for (const logged of reader.sessions()) {
    lookups.tally.needsDns.clear();
    const env = clientEnv(loaded, logged.remoteIp, {});
    const checks = activeChecks(
      loaded.filters,
      { env, remoteIp: logged.remoteIp, listener: "smtp" },
      modules.filters,
    );
    const result = await dryRunSession(
      checks,
      {
        remoteIp: logged.remoteIp,
        remoteHost: logged.remoteHost,
        helo: logged.helo,
        sender: logged.sender,
        recipients: logged.recipients,
        env,
        relaying: env.RELAYCLIENT !== undefined,
        tls: false,
        now: logged.time ?? Date.now(),
      },
      lookups.run,
      "chain",
    );
    const needsDns = lookups.tally.needsDns;
    const refused = result.refusal !== undefined && !needsDns.has(result.refusal.decision.check);
    tally.add(result.phases.flatMap((phase) => phase.decisions), refused, needsDns);
  }
  const report = tally.report();
  if (parsed.values.json) {
    console.log(JSON.stringify({ ...report, skippedLines: reader.skipped }));
  } else {
    for (const line of formatReplayReport(report, dns)) console.log(line);
  }
  return EXIT.ok;
}

export async function main(
  args: string[],
  modules: RuleModules = DEFAULT_MODULES,
): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case "test":
      return await rulesTest(rest, modules);
    case "replay":
      return await rulesReplay(rest, modules);
    case "--help":
    case "-h":
    case "help":
      console.log(USAGE.trimEnd());
      return EXIT.ok;
    case undefined:
      return usageError(NAME, "expected test or replay");
    default:
      return usageError(NAME, `unknown subcommand ${JSON.stringify(subcommand)}`);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
