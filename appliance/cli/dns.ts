/**
 * `qmd dns DOMAIN` prints the records to publish for mail of DOMAIN through
 * this box (dns_records.ts) with its own host name (control/me), addresses
 * and DKIM keys (control/dkim/DOMAIN); `qmd dns check DOMAIN` asks DNS what
 * is published (--dns IP:PORT, else control/dnsservers, else the system's
 * resolver) and says, per record, ok, missing or what is there instead (a
 * DKIM record with another key is wrong), and whether SPF as published
 * lets each address send for the domain (evaluated by mailauth, as smtpd's
 * SPF check does). Exit 0 when all is ok, 1 when something is missing or
 * wrong, 111 when DNS could not be asked.
 */
import { parseCommand, usageError } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { ControlError, readControlLine } from "../../config/control.ts";
import { loadOwnStsPolicy } from "../../config/mail_security.ts";
import { formatStsPolicy, stsPolicyId } from "../mta_sts/policy_text.ts";
import { Resolver } from "../dns/resolver.ts";
import { parseDnsFlag } from "../trace/dry_run_lookups.ts";
import { runSpfLookup } from "../net/spf_lookup.ts";
import { type DnsPlan, expectedRecords, formatZone } from "./dns_records.ts";
import { readKeys } from "./dkim.ts";
import { dkimRecord } from "../remote/dkim_records.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmd dns";
const USAGE = `usage: qmd dns DOMAIN [--host HOST] [--ip IP ...] [--home DIR]
       qmd dns check DOMAIN [--host HOST] [--ip IP ...] [--dns IP:PORT] [--home DIR]

Prints the DNS records mail for DOMAIN needs through this box: MX, the host's
addresses, SPF, DKIM (one per key in control/dkim/DOMAIN), DMARC, TLS-RPT,
MTA-STS when control/mtasts sets a policy, and
the PTR of each address; check compares them with what DNS answers and
evaluates SPF for each address.
  --host HOST   the MX host (default control/me)
  --ip IP       an address of the box (repeat; default: its interfaces' addresses
                that are not loopback or link-local)
  --dns IP:PORT the resolver check asks (default control/dnsservers, else the system's)`;

/** The box's addresses that others can reach it on, as far as its interfaces tell. */
function interfaceAddresses(): string[] {
  return Deno.networkInterfaces()
    .map((info) => info.address)
    .filter((ip) => !/^(127\.|169\.254\.|::1$|fe80:)/i.test(ip));
}

/** The plan for DOMAIN: the host, the addresses (default: the interfaces') and its DKIM keys. */
export function planFor(home: string, domain: string, host: string, ips?: string[]): DnsPlan {
  return {
    domain,
    host,
    ips: ips ?? interfaceAddresses(),
    dkim: readKeys(home, domain.toLowerCase().replace(/\.$/, "")).map(dkimRecord),
  };
}

export async function main(args: string[]): Promise<number> {
  const check = args[0] === "check";
  const parsed = parseCommand({
    name: check ? `${NAME} check` : NAME,
    usage: USAGE,
    options: {
      home: { type: "string" },
      host: { type: "string" },
      ip: { type: "string", multiple: true },
      dns: { type: "string" },
    },
  }, check ? args.slice(1) : args);
  if (!parsed.ok) return parsed.exitCode;
  const [domain, ...extra] = parsed.positionals;
  if (domain === undefined || extra.length > 0 || !/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(domain)) {
    return usageError(NAME, "expected one DOMAIN such as example.com");
  }
  const home = resolveHome(parsed.values.home);
  const host = parsed.values.host ?? readControlLine(home, "me")?.trim();
  if (host === undefined || host === "") {
    return usageError(NAME, `no control/me in ${home}: name the host with --host`);
  }
  let policy;
  try {
    policy = loadOwnStsPolicy(home);
  } catch (error) {
    if (!(error instanceof ControlError)) throw error;
    return usageError(NAME, error.message);
  }
  const plan: DnsPlan = {
    ...planFor(home, domain, host, parsed.values.ip),
    ...(policy === null ? {} : { mtaStsId: await stsPolicyId(formatStsPolicy(policy)) }),
  };
  if (!check) {
    console.log(formatZone(plan).trimEnd());
    return EXIT.ok;
  }
  const server = parsed.values.dns === undefined ? undefined : parseDnsFlag(parsed.values.dns);
  if (typeof server === "string") return usageError(NAME, `--dns ${server}`);
  const resolver = new Resolver({
    ...(server === undefined ? { home } : { nameServers: [server] }),
    timeoutSeconds: 5,
    attempts: 2,
  });
  return await checkPublished(plan, resolver);
}

/** Compares what DNS answers with expectedRecords(plan); prints one line a record. */
export async function checkPublished(plan: DnsPlan, resolver: Resolver): Promise<number> {
  let wrong = false;
  let unreachable = false;
  for (const record of expectedRecords(plan)) {
    const answer = await resolver.records(record.name, record.type);
    const what = `${record.name} ${record.type}`;
    if (!answer.ok) {
      unreachable = true;
      console.log(`? ${what}: could not be asked (${answer.reason})`);
      continue;
    }
    const published = answer.value.records;
    if (record.satisfied(published)) {
      console.log(`ok ${what}: ${published.join(" | ")}`);
      continue;
    }
    wrong = true;
    console.log(
      published.length === 0
        ? `missing ${what}: publish ${record.value}`
        : `wrong ${what}: ${published.join(" | ")}; expected ${record.value}`,
    );
  }
  for (const ip of plan.ips) {
    const spf = await runSpfLookup({
      kind: "spf",
      ip,
      helo: plan.host,
      sender: `postmaster@${plan.domain}`,
      timeoutSeconds: 20,
    }, { resolver, mta: plan.host });
    if (spf.kind === "spf" && spf.result === "pass") {
      console.log(`ok SPF ${plan.domain} for ${ip}: pass`);
    } else if (spf.kind === "spf") {
      wrong = true;
      console.log(`wrong SPF ${plan.domain} for ${ip}: ${spf.result}; mail from it would not pass`);
    } else {
      unreachable = true;
      const reason = spf.kind === "temporary" ? spf.reason : spf.kind;
      console.log(`? SPF ${plan.domain} for ${ip}: could not be evaluated (${reason})`);
    }
  }
  return wrong ? 1 : unreachable ? EXIT.temporary : EXIT.ok;
}
