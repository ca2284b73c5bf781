/**
 * The DNS records a domain needs for mail through this box (issue 15's `qmd
 * dns`): MX to the host qmd greets as (control/me), that host's addresses,
 * SPF allowing the MX, DMARC and TLS-RPT with reports to postmaster, and the
 * PTR of each address (set by whoever runs the address). Pure: the box's
 * addresses and the host come in, zone-file lines and checks go out.
 *
 * DKIM: one TXT record per key under control/dkim/DOMAIN (qmd dkim add),
 * and none when there is no key: a published key that the box does not
 * sign with tells receivers nothing, but a missing one fails every
 * signature. MTA-STS (RFC 8461 §3.1) is printed when control/mtasts
 * configures the policy the admin listener serves: the `_mta-sts` TXT
 * record with the policy's id, and `mta-sts.DOMAIN` as a CNAME to the host.
 */
import { formatPtrName } from "../net/reverse_dns.ts";
import { type DkimRecord, dkimRecordPublished, formatTxtStrings } from "../remote/dkim_records.ts";
import { formatStsRecord, parseStsRecord } from "../mta_sts/policy_text.ts";

export interface DnsPlan {
  domain: string;
  /** The MX host: control/me. */
  host: string;
  /** The addresses the host sends and receives from. */
  ips: string[];
  /** The TXT records of the domain's DKIM keys (remote/dkim_records.ts); none: no key yet. */
  dkim?: DkimRecord[];
  /** The id of the MTA-STS policy this box serves (control/mtasts), when it serves one. */
  mtaStsId?: string;
}

export type RecordType = "MX" | "A" | "AAAA" | "TXT" | "PTR" | "CNAME";

/** One record to publish, and how to tell a published one does the job. */
export interface Expected {
  name: string;
  type: RecordType;
  value: string;
  /** Whether the records published at name/type do what this one does. */
  satisfied: (published: readonly string[]) => boolean;
  /** Set by whoever runs the address, not in the domain's zone. */
  ptr?: boolean;
}

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** The records `plan` needs, in the order they are printed and checked. */
export function expectedRecords(plan: DnsPlan): Expected[] {
  const domain = bare(plan.domain);
  const host = bare(plan.host);
  const startsWith = (prefix: string) => (published: readonly string[]) =>
    published.some((text) => text.trim().toLowerCase().startsWith(prefix.toLowerCase()));
  const records: Expected[] = [{
    name: domain,
    type: "MX",
    value: `10 ${host}.`,
    satisfied: (published) => published.some((text) => bare(text.split(/\s+/)[1] ?? "") === host),
  }];
  for (const ip of plan.ips) {
    records.push({
      name: host,
      type: ip.includes(":") ? "AAAA" : "A",
      value: ip,
      satisfied: (published) => published.includes(ip),
    });
  }
  records.push(
    {
      name: domain,
      type: "TXT",
      value: '"v=spf1 mx -all"',
      // Whether it lets the box send is evaluated apart (qmd dns check runs SPF itself).
      satisfied: startsWith("v=spf1"),
    },
    ...(plan.dkim ?? []).map((record): Expected => ({
      name: record.name,
      type: "TXT",
      value: formatTxtStrings(record.text),
      satisfied: (published) => dkimRecordPublished(published, record),
    })),
    {
      name: `_dmarc.${domain}`,
      type: "TXT",
      value: `"v=DMARC1; p=none; rua=mailto:postmaster@${domain}"`,
      satisfied: startsWith("v=DMARC1"),
    },
    {
      name: `_smtp._tls.${domain}`,
      type: "TXT",
      value: `"v=TLSRPTv1; rua=mailto:postmaster@${domain}"`,
      satisfied: startsWith("v=TLSRPTv1"),
    },
  );
  if (plan.mtaStsId !== undefined) records.push(...mtaStsRecords(domain, host, plan.mtaStsId));
  for (const ip of plan.ips) {
    const name = formatPtrName(ip);
    if (name === undefined) continue;
    records.push({
      name,
      type: "PTR",
      value: `${host}.`,
      satisfied: (published) => published.some((text) => bare(text) === host),
      ptr: true,
    });
  }
  return records;
}

/**
 * MTA-STS (RFC 8461 §3.1, §3.3): the TXT record with the served policy's id
 * (another id is wrong: senders would keep an old policy), and the policy
 * host as a CNAME to this box, whose admin listener serves the policy.
 */
function mtaStsRecords(domain: string, host: string, id: string): Expected[] {
  return [
    {
      name: `_mta-sts.${domain}`,
      type: "TXT",
      value: `"${formatStsRecord(id)}"`,
      satisfied: (published) => {
        const record = parseStsRecord(published.map((text) => text.trim()));
        return record.ok && record.id === id;
      },
    },
    {
      name: `mta-sts.${domain}`,
      type: "CNAME",
      value: `${host}.`,
      satisfied: (published) => published.some((text) => bare(text) === host),
    },
  ];
}

/** The records as zone-file lines, with a comment before the PTRs and about what is left out. */
export function formatZone(plan: DnsPlan): string {
  const records = expectedRecords(plan);
  // Each part aligned for itself: the PTR names (ip6.arpa's above all) are long.
  const lines = (part: Expected[]) => {
    const width = Math.max(...part.map((record) => record.name.length + 1));
    return part.map((record) =>
      `${`${record.name}.`.padEnd(width)}  IN ${record.type.padEnd(5)} ${record.value}`
    );
  };
  return [
    `; mail for ${bare(plan.domain)} through ${bare(plan.host)} (${
      plan.ips.join(", ") || "no address"
    })`,
    ...lines(records.filter((record) => !record.ptr)),
    "; PTR, set by whoever runs each address (your provider):",
    ...lines(records.filter((record) => record.ptr)),
    "; DMARC starts at p=none: raise it to quarantine once the reports show only your own mail.",
    ...((plan.dkim ?? []).length === 0
      ? [`; No DKIM key for ${bare(plan.domain)} yet: qmd dkim add ${bare(plan.domain)} makes one.`]
      : []),
    ...(plan.mtaStsId === undefined ? ["; Not yet: MTA-STS (no control/mtasts policy)."] : [
      `; MTA-STS: https://mta-sts.${bare(plan.domain)}/.well-known/mta-sts.txt must reach ` +
      "the admin listener (port 443, a certificate for that name).",
    ]),
    "",
  ].join("\n");
}
