/**
 * Incoming authentication results (RFC 8601) for one message, as a content
 * scan: DKIM (RFC 6376, RFC 8463), ARC (RFC 8617) and DMARC (RFC 7489) by
 * npm mailauth, with the SPF result (RFC 7208) the session already has
 * (the spf check's answer at MAIL, kept by the connection driver) or asks
 * for once. The verdict is a pass carrying one Authentication-Results
 * header, or with control/dmarcreject a 550 for a DMARC failure under
 * p=reject (filters/auth_results.ts dmarcVerdict).
 *
 * Memory stays bounded whatever the message size: the body goes to
 * mailauth's DKIM verifier as it streams (its body hashes are computed on
 * the fly; only the header section is held, and one over MAX_HEADER_BYTES
 * is refused), while the driver spools the message to an unlinked file in
 * queue/pid (net/message_spool.ts). The header must come first in the
 * queued message and is known only after the last body byte, so the queue
 * message is written from the spool at the commit: our header, then the
 * message with any Authentication-Results field claiming our authserv-id
 * removed (RFC 8601 §5), so nobody can forge our verdict.
 *
 * mailauth is imported on first use (it pulls in joi, libmime and tldts,
 * which the appliance need not load to start).
 */
import { Buffer } from "node:buffer";
import { PassThrough } from "node:stream";
import type { AuthResultsControls } from "../../config/auth_results.ts";
import type {
  ContentScan,
  FilterRequest,
  LookupAnswer,
  MessageEdit,
  ScanContext,
  Verdict,
} from "../filters/filter.ts";
import {
  alignedAsAsked,
  type DmarcAlignment,
  type DmarcOutcome,
  dmarcVerdict,
  formatAuthResults,
  HeaderEnd,
  isAuthResultsField,
  MAX_HEADER_BYTES,
  MAX_SIGNATURE_FIELDS,
  REPLY_HEADER_TOO_BIG,
  SignatureFields,
  summarizeEntries,
} from "../filters/auth_results.ts";
import { SPF_TIMEOUT_SECONDS } from "../filters/spf.ts";
import { logEvent } from "../log.ts";
import { isLoopback } from "../loopback.ts";
import type { ScanLog } from "./clamd_scan.ts";

/** The whole verification after the last byte (DNS for keys and policies) may take this long. */
export const VERIFY_SECONDS = 30;

type Resolve = ScanContext["resolve"];

interface AuthStatus {
  result: string;
  comment?: string;
  [ptype: string]: unknown;
}

/** The parts of npm mailauth used here (lib/dkim/verify, lib/arc, lib/dmarc, lib/tools). */
interface Mailauth {
  dkimVerify(input: PassThrough, options: { resolver: Resolve; sender?: string }): Promise<{
    headerFrom?: string[] | string;
    results?: {
      info: string;
      signingDomain?: string;
      id?: string;
      status: AuthStatus & { aligned?: string; underSized?: number };
    }[];
    arc?: unknown;
  }>;
  arc(
    chain: unknown,
    options: { resolver: Resolve },
  ): Promise<{ status: AuthStatus; info?: string }>;
  dmarc(options: {
    headerFrom: string[] | string;
    spfDomains: string[];
    dkimDomains: { id?: string; domain?: string; aligned?: string; underSized?: number }[];
    arcResult: unknown;
    resolver: Resolve;
  }): Promise<
    false | {
      status: AuthStatus & { header?: { d?: string } };
      info?: string;
      domain?: string;
      policy?: string;
      pct?: number;
      alignment?: DmarcAlignment;
    }
  >;
  formatAuthHeaderRow(method: string, status: AuthStatus): string;
  parseHeader(line: string): { parsed?: { value?: string } };
}

let loading: Promise<Mailauth> | undefined;

function loadMailauth(): Promise<Mailauth> {
  loading ??= Promise.all([
    import("mailauth/lib/dkim/verify.js"),
    import("mailauth/lib/arc/index.js"),
    import("mailauth/lib/dmarc/index.js"),
    import("mailauth/lib/tools.js"),
    import("mailauth/lib/parse-dkim-headers.js"),
  ]).then(([verify, arc, dmarc, tools, parse]) =>
    ({
      dkimVerify: verify.dkimVerify,
      arc: arc.arc,
      dmarc: dmarc.dmarc,
      formatAuthHeaderRow: tools.formatAuthHeaderRow,
      parseHeader: parse.default ?? parse,
    }) as unknown as Mailauth
  );
  return loading;
}

/**
 * LF-form bytes (the DATA byte machine's, CRLF turned into LF) back to the
 * CRLF the client sent, which is what the signatures were made over; a
 * copy, since the reader reuses its buffer.
 */
function withCrlf(chunk: Uint8Array): Buffer {
  let lines = 0;
  for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) lines++;
  const out = Buffer.alloc(chunk.length + lines);
  let to = 0;
  let from = 0;
  for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) {
    out.set(chunk.subarray(from, at), to);
    to += at - from;
    out[to++] = 0x0d;
    out[to++] = 0x0a;
    from = at + 1;
  }
  out.set(chunk.subarray(from), to);
  return out;
}

/** Resolves after `seconds` with `value`; the timer is cleared by `clear()`. */
function deadline<T>(seconds: number, value: T): { promise: Promise<T>; clear(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), seconds * 1000);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** The SPF entry of the header, and the domain it lets DMARC align with. */
function spfEntry(
  answer: LookupAnswer,
  request: FilterRequest,
  mailauth: Mailauth,
): { entry: string; passDomain?: string } {
  const smtp = { mailfrom: request.sender || `postmaster@${request.helo ?? ""}` };
  if (answer.kind !== "spf") {
    const reason = answer.kind === "temporary" ? answer.reason : `unexpected ${answer.kind}`;
    return {
      entry: mailauth.formatAuthHeaderRow("spf", { result: "temperror", comment: reason, smtp }),
    };
  }
  const entry = answer.info ??
    mailauth.formatAuthHeaderRow("spf", {
      result: answer.result,
      ...(answer.explanation === undefined ? {} : { comment: answer.explanation }),
      smtp,
    });
  return answer.result === "pass" && answer.domain !== undefined
    ? { entry, passDomain: answer.domain }
    : { entry };
}

/** The scan for a client, or undefined when it is off or the client relays. */
export function beginAuthResultsScan(
  controls: AuthResultsControls,
  request: FilterRequest,
  context: ScanContext | undefined,
  log: ScanLog = logEvent,
): ContentScan | undefined {
  // RELAYCLIENT, SMTP AUTH and tlsclients certificates relay: their mail is ours to sign, not check.
  if (!controls.enabled || context === undefined) return undefined;
  if (request.relaying || request.authUser !== undefined) return undefined;
  if (!controls.loopback && isLoopback(request.remoteIp)) return undefined;
  // tcp.smtp may exempt a client (a trusted forwarder whose own header is wanted).
  if (request.env.NOAUTHRESULTS !== undefined) return undefined;
  // Asked now, answered while the body streams (at once when the spf check asked at MAIL).
  const spf = context.lookup({
    kind: "spf",
    ip: request.remoteIp,
    helo: request.helo ?? "",
    sender: request.sender ?? "",
    timeoutSeconds: SPF_TIMEOUT_SECONDS,
  }).catch((error): LookupAnswer => ({ kind: "temporary", reason: (error as Error).message }));
  const stream = new PassThrough();
  let mailauthLoaded: Mailauth | undefined;
  const verifying = loadMailauth().then(async (mailauth) => ({
    mailauth: mailauthLoaded = mailauth,
    dkim: await mailauth.dkimVerify(stream, {
      resolver: context.resolve,
      ...(request.sender ? { sender: request.sender } : {}),
    }),
  }));
  // A failure is reported by finish(); from then on nothing is fed (nobody would read it).
  let stopped = false;
  verifying.catch(() => stopped = true);
  const header = new HeaderEnd();
  const signatures = new SignatureFields();
  let tooBig = false;
  let prepend: string[] = [];

  const feed = async (bytes: Buffer): Promise<void> => {
    if (stream.write(bytes)) return;
    await Promise.race([
      new Promise((resolve) => stream.once("drain", resolve)),
      verifying.then(() => {}, () => {}),
    ]);
  };

  const verify = async (): Promise<{ entries: string[]; verdict: Verdict }> => {
    stream.end();
    const { mailauth, dkim } = await verifying;
    const resolver = context.resolve;
    const spfPart = spfEntry(await spf, request, mailauth);
    const arc = await mailauth.arc(dkim.arc, { resolver });
    const entries = (dkim.results ?? []).map((row) => row.info);
    entries.push(spfPart.entry, arc.info ?? mailauth.formatAuthHeaderRow("arc", arc.status));
    const from = dkim.headerFrom;
    const passing = (dkim.results ?? []).filter((row) => row.status.result === "pass");
    const dmarc = from === undefined || from.length === 0 ? false : await mailauth.dmarc({
      headerFrom: from,
      spfDomains: spfPart.passDomain === undefined ? [] : [spfPart.passDomain],
      dkimDomains: passing.map((row) => ({
        id: row.id,
        domain: row.signingDomain,
        aligned: row.status.aligned,
        underSized: row.status.underSized,
      })),
      arcResult: arc,
      resolver,
    });
    let outcome: DmarcOutcome | undefined;
    if (dmarc) {
      let { result } = dmarc.status;
      let info = dmarc.info;
      const fromDomain = dmarc.status.header?.d;
      const signers = passing.flatMap((row) => row.signingDomain ?? []);
      if (
        result === "pass" && dmarc.alignment !== undefined && fromDomain !== undefined &&
        !alignedAsAsked(dmarc.alignment, fromDomain, signers, spfPart.passDomain)
      ) {
        result = "fail";
        info = info?.replace(/^dmarc=pass/, "dmarc=fail");
      }
      if (info !== undefined) entries.push(info);
      outcome = { result, domain: dmarc.domain, policy: dmarc.policy, pct: dmarc.pct };
    }
    return {
      entries,
      verdict: dmarcVerdict(outcome, controls.dmarcReject, summarizeEntries(entries)),
    };
  };

  const logSummary = (text: string) => {
    const prefix = request.sessionId === undefined ? "smtpd" : `smtpd ${request.sessionId}`;
    log("smtp_auth_results", `${prefix}: auth results: ${text}`, {
      ...(request.sessionId === undefined ? {} : { session: request.sessionId }),
      remote: request.remoteIp,
    });
  };

  return {
    async write(chunk: Uint8Array): Promise<void> {
      if (tooBig || stopped) return;
      const inHeader = header.end === undefined;
      const headerPart = header.push(chunk);
      if (inHeader && (header.end ?? header.seen) > MAX_HEADER_BYTES) {
        tooBig = true;
        stream.destroy();
        return;
      }
      if (headerPart > 0) signatures.push(chunk.subarray(0, headerPart));
      if (signatures.count > MAX_SIGNATURE_FIELDS) {
        // Not verified at all: finish() says so in the header.
        stopped = true;
        stream.destroy();
        return;
      }
      await feed(withCrlf(chunk));
    },
    async finish(): Promise<Verdict> {
      if (tooBig) {
        logSummary(`header section over ${MAX_HEADER_BYTES} bytes, refused`);
        return {
          kind: "refuse",
          reply: [REPLY_HEADER_TOO_BIG],
          rule: { check: "authres", entry: `header section over ${MAX_HEADER_BYTES} bytes` },
        };
      }
      const limit = deadline(VERIFY_SECONDS, undefined);
      let result: { entries: string[]; verdict: Verdict } | undefined;
      let failure = `verification took over ${VERIFY_SECONDS}s`;
      const tooMany = signatures.count > MAX_SIGNATURE_FIELDS;
      if (tooMany) failure = `over ${MAX_SIGNATURE_FIELDS} signatures, none verified`;
      try {
        if (!tooMany) result = await Promise.race([verify(), limit.promise]);
      } catch (error) {
        failure = (error as Error).message;
      } finally {
        limit.clear();
      }
      if (result === undefined) {
        // DNS trouble or a mailauth failure: say so in the header, never refuse for it.
        const comment = failure.replace(/[()\\\r\n]/g, " ").slice(0, 200);
        const dkim = `dkim=${tooMany ? "permerror" : "temperror"}`;
        result = { entries: [`${dkim} (${comment})`], verdict: { kind: "pass", log: dkim } };
      }
      prepend = [formatAuthResults(controls.authServId, result.entries)];
      logSummary(summarizeEntries(result.entries));
      return result.verdict;
    },
    abort(): Promise<void> {
      stream.destroy();
      return Promise.resolve();
    },
    edit(): MessageEdit {
      const ours = controls.authServId.toLowerCase();
      return {
        prepend,
        drops(field: string): boolean {
          if (!isAuthResultsField(field)) return false;
          try {
            const id = mailauthLoaded?.parseHeader(field).parsed?.value;
            // One we cannot read is dropped too: removing a header never forges a verdict.
            return typeof id !== "string" || id.toLowerCase() === ours;
          } catch {
            return true;
          }
        },
      };
    },
  };
}
