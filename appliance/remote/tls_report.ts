/**
 * TLS-RPT (RFC 8460): what remote delivery records about the TLS sessions it
 * made to domains with a policy (MTA-STS or DANE), per UTC day and policy
 * domain, and the aggregate report it makes of a day (§4.4, JSON). Each
 * session counts once, successful or failed with a result type (§4.3); a
 * day's counts are kept in memory and in HOME/mailsec/tlsrpt/DAY.json so a
 * restart loses none; tls_report_send.ts mails them after the day ends.
 */

/** §4.3 result types qmd reports. */
export type TlsResultType =
  | "starttls-not-supported"
  | "certificate-host-mismatch"
  | "certificate-expired"
  | "certificate-not-trusted"
  | "validation-failure"
  | "tlsa-invalid"
  | "dnssec-invalid"
  | "sts-policy-fetch-error";

/** The policy a session was held to (§4.4 "policy"). */
export interface ReportPolicy {
  domain: string;
  type: "sts" | "tlsa" | "no-policy-found";
  /** The policy's lines (MTA-STS) or records (TLSA), as §4.4 "policy-string". */
  strings: string[];
  /** MTA-STS mx patterns (§4.4 "mx-host"). */
  mxHost?: string[];
}

/** One session's outcome. */
export type SessionOutcome =
  | { ok: true }
  | { ok: false; resultType: TlsResultType; mxHost?: string; ip?: string; detail?: string };

interface FailureCount {
  resultType: TlsResultType;
  mxHost?: string;
  ip?: string;
  detail?: string;
  count: number;
}

interface PolicyCounts {
  policy: ReportPolicy;
  success: number;
  failures: Record<string, FailureCount>;
}

/** One day's counts: by policy key. */
export type DayCounts = Record<string, PolicyCounts>;

/** "2026-12-03" for a Unix ms time (UTC). */
export function reportDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** The certificate failure's result type from the TLS library's reason (§4.3.2.2). */
export function classifyCertificateFailure(reason: string): TlsResultType {
  if (/altname|does not match|does not name/i.test(reason)) return "certificate-host-mismatch";
  if (/expired|validity dates/i.test(reason)) return "certificate-expired";
  if (/SELF_SIGNED|ISSUER|UNABLE_TO|not trusted|unknown ca|CERT_UNTRUSTED/i.test(reason)) {
    return "certificate-not-trusted";
  }
  return "validation-failure";
}

/** The day's counts in memory and on disk. */
export class TlsReportBook {
  readonly #directory: string | undefined;
  readonly #days = new Map<string, DayCounts>();
  #writing: Promise<void> = Promise.resolve();

  /** `directory`: HOME/mailsec/tlsrpt, or undefined to keep counts in memory only. */
  constructor(directory: string | undefined) {
    this.#directory = directory;
  }

  /** Counts one session to `policy.domain` on the day of `now`. */
  record(policy: ReportPolicy, outcome: SessionOutcome, now: number): Promise<void> {
    const day = reportDay(now);
    const counts = this.#day(day);
    const key = `${policy.domain}|${policy.type}|${policy.strings.join("\n")}`;
    const entry = counts[key] ??= { policy, success: 0, failures: {} };
    if (outcome.ok) {
      entry.success++;
    } else {
      const failureKey = `${outcome.resultType}|${outcome.mxHost ?? ""}|${outcome.ip ?? ""}`;
      const failure = entry.failures[failureKey] ??= {
        resultType: outcome.resultType,
        ...(outcome.mxHost === undefined ? {} : { mxHost: outcome.mxHost }),
        ...(outcome.ip === undefined ? {} : { ip: outcome.ip }),
        ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
        count: 0,
      };
      failure.count++;
    }
    return this.#save(day);
  }

  /** The days with counts before `day`, oldest first (the ones due for a report). */
  daysBefore(day: string): string[] {
    this.#loadAll();
    return [...this.#days.keys()].filter((each) => each < day).sort();
  }

  /** A day's counts. */
  counts(day: string): DayCounts {
    return this.#day(day);
  }

  /** Forgets a day once its reports are queued. */
  async forget(day: string): Promise<void> {
    this.#days.delete(day);
    await this.#writing;
    if (this.#directory === undefined) return;
    await Deno.remove(`${this.#directory}/${day}.json`).catch(() => {});
  }

  #day(day: string): DayCounts {
    let counts = this.#days.get(day);
    if (counts === undefined) {
      counts = this.#read(day) ?? {};
      this.#days.set(day, counts);
    }
    return counts;
  }

  #read(day: string): DayCounts | undefined {
    if (this.#directory === undefined) return undefined;
    try {
      const data = JSON.parse(Deno.readTextFileSync(`${this.#directory}/${day}.json`));
      return typeof data === "object" && data !== null ? data as DayCounts : undefined;
    } catch {
      return undefined;
    }
  }

  #loadAll(): void {
    if (this.#directory === undefined) return;
    try {
      for (const entry of Deno.readDirSync(this.#directory)) {
        const match = /^(\d{4}-\d{2}-\d{2})\.json$/.exec(entry.name);
        if (match !== null) this.#day(match[1]);
      }
    } catch {
      // no directory yet: nothing recorded
    }
  }

  /** Writes a day's file (writes are serialised; a failure keeps the memory copy). */
  #save(day: string): Promise<void> {
    const directory = this.#directory;
    if (directory === undefined) return Promise.resolve();
    const text = JSON.stringify(this.#day(day));
    this.#writing = this.#writing.then(async () => {
      try {
        await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
        const temporary = `${directory}/${day}.json.tmp`;
        await Deno.writeTextFile(temporary, text);
        await Deno.rename(temporary, `${directory}/${day}.json`);
      } catch {
        // the counts stay in memory; the next record tries again
      }
    });
    return this.#writing;
  }
}

/** §4.4's report for one policy domain's day. */
export function formatTlsReport(options: {
  organization: string;
  contact: string;
  reportId: string;
  day: string;
  policies: PolicyCounts[];
}): string {
  const report = {
    "organization-name": options.organization,
    "date-range": {
      "start-datetime": `${options.day}T00:00:00Z`,
      "end-datetime": `${options.day}T23:59:59Z`,
    },
    "contact-info": options.contact,
    "report-id": options.reportId,
    policies: options.policies.map((entry) => ({
      policy: {
        "policy-type": entry.policy.type,
        "policy-string": entry.policy.strings,
        "policy-domain": entry.policy.domain,
        ...(entry.policy.mxHost === undefined ? {} : { "mx-host": entry.policy.mxHost }),
      },
      summary: {
        "total-successful-session-count": entry.success,
        "total-failure-session-count": Object.values(entry.failures).reduce(
          (sum, failure) => sum + failure.count,
          0,
        ),
      },
      "failure-details": Object.values(entry.failures).map((failure) => ({
        "result-type": failure.resultType,
        ...(failure.mxHost === undefined ? {} : { "receiving-mx-hostname": failure.mxHost }),
        ...(failure.ip === undefined ? {} : { "receiving-ip": failure.ip }),
        "failed-session-count": failure.count,
        ...(failure.detail === undefined ? {} : { "additional-information": failure.detail }),
      })),
    })),
  };
  return JSON.stringify(report, null, 2);
}

/** The policies of one domain in a day's counts. */
export function policiesOf(counts: DayCounts, domain: string): PolicyCounts[] {
  return Object.values(counts).filter((entry) => entry.policy.domain === domain);
}

/** The policy domains in a day's counts. */
export function domainsOf(counts: DayCounts): string[] {
  return [...new Set(Object.values(counts).map((entry) => entry.policy.domain))].sort();
}

/**
 * The `_smtp._tls` TXT record's mailto: addresses (§3): exactly one record
 * beginning "v=TLSRPTv1"; rua= is a comma-separated list of URIs, https:
 * ones are not used (qmd reports by mail only).
 */
export function parseTlsRptRecord(texts: string[]): string[] {
  const records = texts.filter((text) => /^v=TLSRPTv1\s*(;|$)/.test(text.trim()));
  if (records.length !== 1) return [];
  const rua = records[0].split(";").map((field) => field.trim()).find((field) =>
    field.startsWith("rua=")
  );
  if (rua === undefined) return [];
  return rua.slice(4).split(",").map((uri) => uri.trim())
    .filter((uri) => /^mailto:/i.test(uri))
    .map((uri) => decodeURIComponent(uri.slice(7).split("?")[0]))
    .filter((address) => /^[^@\s<>]+@[^@\s<>]+$/.test(address));
}
