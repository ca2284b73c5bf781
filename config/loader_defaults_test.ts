/**
 * Every loader in config/ agrees with the controls table: for each control a
 * role reads (the table's `readers`), the value its loader returns when the
 * file is absent is the table's default. A loader that kept a literal copy of
 * a default, or a table entry changed without its loader, fails here.
 */
import { withControlFiles } from "./test_home.ts";
import { loadTraceControls, type TraceControls } from "./trace.ts";
import { assert, assertEquals } from "../tests/assert.ts";
import { type ControlReader, CONTROLS, type ControlSpec } from "./controls.ts";
import { loadSmtpdControls, type SmtpdControls } from "./smtpd.ts";
import { loadPop3dControls, type Pop3dControls, readPop3Homes } from "./pop3d.ts";
import { readSendControls, type SendControls } from "./send.ts";
import { loadRemoteControls, type RemoteControls } from "./remote.ts";
import { readCheckpassword } from "./checkpassword.ts";
import { loadBmListControls, loadDatechecksControls, loadReqBrackets } from "./filter_lists.ts";
import { type ClamdControls, loadClamdControls } from "./clamd.ts";
import { loadSignatureControls, type SignatureControls } from "./signatures.ts";
import { loadQueueExtrasControls, type QueueExtrasControls } from "./queue_extras.ts";
import { loadGreylist, loadRcptCheck, loadRealRcptTo, loadRecipients } from "./recipient_checks.ts";
import { type FilterDnsControls, loadFilterDnsControls } from "./filter_dns.ts";
import {
  loadMailSecurityControls,
  loadOwnStsPolicy,
  type MailSecurityControls,
  type OwnStsPolicy,
} from "./mail_security.ts";
import { type AuthResultsControls, loadAuthResultsControls } from "./auth_results.ts";
import { type AcmeControls, loadAcmeControls } from "./acme.ts";

const ME = "mx.example.test";

/** How to read one control's value out of a loader's result. */
type Fields<T> = Record<string, (loaded: T, home: string) => unknown>;

interface Loader<T> {
  load(home: string): T;
  fields: Fields<T>;
}

function loader<T>(load: (home: string) => T, fields: Fields<T>): Loader<unknown> {
  return {
    load,
    fields: fields as Fields<unknown>,
  };
}

const SMTPD = loader<SmtpdControls>(loadSmtpdControls, {
  rcpthosts: (c) => c.rcptHosts,
  "morercpthosts.cdb": (c) => c.moreRcptHostsCdb,
  databytes: (c) => c.databytes,
  smtpgreeting: (c) => c.greeting,
  localiphost: (c) => c.localIpHost,
  timeoutsmtpd: (c) => c.timeoutSeconds,
  timeoutcommand: (c) => c.commandTimeoutSeconds,
  timeoutdata: (c) => c.dataTimeoutSeconds,
  "databytes+": (c) => c.databytesPlus,
  databytesmf: (c) => c.databytesMf,
  databytesrcpt: (c) => c.databytesRcpt,
  maxrcpt: (c) => c.maxRcpt,
  maxrecipients: (c) => c.maxRecipients,
  maxcmdlen: (c) => c.maxCmdLen,
  maxaddrlen: (c) => c.maxAddrLen,
  maxhops: (c) => c.maxHops,
  tarpitcount: (c) => c.tarpitCount,
  tarpitdelay: (c) => c.tarpitDelay,
  greetdelay: (c) => c.greetDelay,
  helodelay: (c) => c.heloDelay,
  mfdelay: (c) => c.mfDelay,
  rcptdelay: (c) => c.rcptDelay,
  databeforegreet: (c) => c.dataBeforeGreet,
  "auth/smtp": (c) => c.authSmtp,
  "auth/smtps": (c) => c.authSmtps,
  "auth/delay": (c) => c.authDelay,
  "auth/oldauth": (c) => c.oldAuth ? 1 : 0,
  authfaildelay: (c) => c.authFailDelay,
  authfaillimit: (c) => c.authFailures.ipLimit,
  authfailuserlimit: (c) => c.authFailures.accountLimit,
  authfaillock: (c) => c.authFailures.lockSeconds,
  authfaillocktrusted: (c) => c.authFailures.lockTrusted,
  secauthext: (c) => c.secAuthExt,
  secauthint: (c) => c.secAuthInt,
  tlssmtpext: (c) => c.tlsSmtpExt,
  tlssmtpint: (c) => c.tlsSmtpInt,
  concurrencyincoming: (c) => c.concurrencyIncoming,
  concurrencyperip: (c) => c.concurrencyPerIp,
  concurrencyperipstress: (c) => c.stress.perIp,
  timeoutstress: (c) => c.stress.seconds,
  dataratestress: (c) => c.stress.dataRate,
  "log/smtp_in": (c) => c.log.smtpIn,
  "log/smtp_out": (c) => c.log.smtpOut,
  "log/orchecks": (c) => c.log.orChecks,
  "log/tarpitting": (c) => c.log.tarpitting,
  "log/tcpserver": (c) => c.log.tcpserver,
  "log/pidqplog": (c) => c.log.pidQp,
  signkey: (c) => c.batv.key,
  signkeystale: (c) => c.batv.staleDays,
  nosignhosts: (c) => c.batv.noSignHosts,
  nosignmydoms: (c) => c.batv.noSignMyDoms,
  // The filter chain's files (config/filter_lists.ts), read by their own loaders.
  reqbrackets: (_, home) => loadReqBrackets(home),
  "log/bmchecks": (_, home) => loadBmListControls(home).log,
  "log/datechecks": (_, home) => loadDatechecksControls(home).log,
  // The recipient checks' files, read by their own loaders (config/recipient_checks.ts).
  realrcptto: (_, home) => loadRealRcptTo(home).enabled,
  recipients: (_, home) => loadRecipients(home).tables,
  recipientchk: (_, home) => loadRecipients(home).mode,
  recipientchkdelay: (_, home) => loadRecipients(home).delaySeconds,
  rcptcheck: (_, home) => loadRcptCheck(home).program,
  timeoutrcptcheck: (_, home) => loadRcptCheck(home).timeoutSeconds,
  greylist: (_, home) => loadGreylist(home).enabled,
  greylistdelay: (_, home) => loadGreylist(home).delaySeconds,
  greylistlifetime: (_, home) => loadGreylist(home).lifetimeSeconds,
});

const POP3D = loader<Pop3dControls>(loadPop3dControls, {
  timeoutcommand: (c) => c.commandTimeoutSeconds,
  authfaillimit: (c) => c.authFailures.ipLimit,
  authfailuserlimit: (c) => c.authFailures.accountLimit,
  authfaillock: (c) => c.authFailures.lockSeconds,
  authfaillocktrusted: (c) => c.authFailures.lockTrusted,
  concurrencyincoming: (c) => c.concurrencyIncoming,
  concurrencyperip: (c) => c.concurrencyPerIp,
  concurrencyperipstress: (c) => c.stress.perIp,
  timeoutstress: (c) => c.stress.seconds,
  dataratestress: (c) => c.stress.dataRate,
  "auth/pop3": (c) => c.authPop3,
  "auth/spop3": (c) => c.authSpop3,
  pop3plaintext: (c) => c.plaintext,
  pop3clientcert: (c) => c.clientCert,
  timeoutpop3d: (c) => c.timeoutSeconds,
  "log/pop3_in": (c) => c.log.pop3In,
  "log/pop3_out": (c) => c.log.pop3Out,
  pop3homes: (_, home) => readPop3Homes(home),
});

const SEND = loader<SendControls>(readSendControls, {
  locals: (c) => c.routing.locals,
  virtualdomains: (c) => c.routing.virtualdomains,
  percenthack: (c) => c.routing.percenthack,
  envnoathost: (c) => c.routing.envnoathost,
  concurrencylocal: (c) => c.concurrencyLocal,
  concurrencyremote: (c) => c.concurrencyRemote,
  queuelifetime: (c) => c.queueLifetime,
  bouncefrom: (c) => c.bounce.bounceFrom,
  bouncehost: (c) => c.bounce.bounceHost,
  doublebounceto: (c) => c.bounce.doubleBounceRecipient.split("@")[0],
  doublebouncehost: (c) => c.bounce.doubleBounceRecipient.split("@")[1],
  bouncemaxbytes: (c) => c.bounce.maxBytes,
});

const REMOTE = loader<RemoteControls>(loadRemoteControls, {
  helohost: (c) => c.helohost,
  smtproutes: (c) => c.smtproutes,
  timeoutconnect: (c) => c.timeoutConnect,
  timeoutremote: (c) => c.timeoutRemote,
  smtprelays: (c) => c.smtprelays,
  qmtproutes: (c) => c.qmtproutes,
  outgoingip: (c) => c.outgoingIp,
  senderip: (c) => c.senderIp,
  bindroutes: (c) => c.bindRoutes,
  moreipme: (c) => c.moreIpMe,
  notipme: (c) => c.notIpMe,
  tlsremote: (c) => c.tlsRemote,
  tlsclientciphers: (c) => c.tlsClientCiphers,
  secauthremote: (c) => c.secAuthRemote,
  straightfallback: (c) => c.straightFallback,
  extraremote: (c) => c.extraRemote,
  signkey: (c) => c.signKey,
  signkeystale: (c) => c.signKeyStale,
  nosignhosts: (c) => c.noSignHosts,
  nosignmydoms: (c) => c.noSignMyDoms,
  "log/remote_fd": (c) => c.logSession,
  qmtpc: (c) => c.qmtpc,
});

/** The content checks' and the queue writer's controls, also read by the smtpd role. */
const CONTENT = loader<[ClamdControls, SignatureControls, QueueExtrasControls]>(
  (home) => [
    loadClamdControls(home),
    loadSignatureControls(home),
    loadQueueExtrasControls(home),
  ],
  {
    clamd: ([clamd]) => clamd.target,
    timeoutclamd: ([clamd]) => clamd.timeoutSeconds,
    clamdfailreject: ([clamd]) => clamd.failReject,
    signatures: ([, signatures]) => signatures.signatures,
    bigbrother: ([, , extras]) => extras.bigBrother,
    extraqueue: ([, , extras]) => extras.extraQueue,
    originipfield: ([, , extras]) => extras.originIpField,
  },
);

/** Several loaders read by one role, as one: each field reads its own loader's result. */
function combined(...parts: Loader<unknown>[]): Loader<unknown> {
  const fields: Fields<unknown> = {};
  parts.forEach((part, i) => {
    for (const [name, field] of Object.entries(part.fields)) {
      fields[name] = (loaded, home) => field((loaded as unknown[])[i], home);
    }
  });
  return { load: (home) => parts.map((part) => part.load(home)), fields };
}

const AUTH = loader<string[] | undefined>(readCheckpassword, {
  checkpassword: (argv) => argv,
});

/** The decision trace's files (config/trace.ts), read by the smtpd role beside loadSmtpdControls. */
const TRACE = loader<TraceControls>(loadTraceControls, {
  tracedays: (c) => c.keepDays,
  tracemaxbytes: (c) => c.maxBytes,
});

/** The DNS checks' files (config/filter_dns.ts), read by the smtpd role beside loadSmtpdControls. */
const FILTER_DNS = loader<FilterDnsControls>(loadFilterDnsControls, {
  rblsmtpd: (c) => c.rbl.smtp,
  "rblsmtpd.submission": (c) => c.rbl.submission,
  "rblsmtpd.smtps": (c) => c.rbl.smtps,
  spfbehavior: (c) => c.spf.behavior,
  mfcheck: (c) => c.mfcheck.level,
  timeoutmfcheck: (c) => c.mfcheck.timeoutSeconds,
  mxblacklist: (c) => c.mfcheck.mxBlacklist,
  helodnschkext: (c) => c.heloDnsCheck.external,
  helodnschkint: (c) => c.heloDnsCheck.internal,
  antispoofing: (c) => c.antispoofing,
});

/** Incoming authentication results' files (config/auth_results.ts), read by the smtpd role. */
const AUTH_RESULTS = loader<AuthResultsControls>(loadAuthResultsControls, {
  authresults: (c) => c.enabled,
  authservid: (c) => c.authServId,
  dmarcreject: (c) => c.dmarcReject,
});

/** control/acme (config/acme.ts): absent = no ACME; its keywords' defaults are config/acme.ts's. */
const ACME = loader<AcmeControls | undefined>(loadAcmeControls, {
  acme: (c) => c,
});

/** More loaders of a reader's files (the filter checks' own), asked after its main one. */
/** Modern mail security (config/mail_security.ts): remote's MTA-STS switch, admin's own policy. */
const MAIL_SECURITY = loader<MailSecurityControls>(loadMailSecurityControls, {
  mtastsremote: (c) => c.mtaStsRemote,
  tlsrpt: (c) => c.tlsRpt,
});

const ADMIN = loader<OwnStsPolicy | null>(loadOwnStsPolicy, {
  mtasts: (policy) => policy,
});

const MORE_LOADERS: Partial<Record<ControlReader, Loader<unknown>[]>> = {
  smtpd: [FILTER_DNS, TRACE, AUTH_RESULTS],
  remote: [MAIL_SECURITY],
};

/** The loader of each reader; inject has none in config/ (appliance/cli/inject.ts reads its files). */
const LOADERS: Record<Exclude<ControlReader, "inject" | "local">, Loader<unknown>> = {
  smtpd: combined(SMTPD, CONTENT),
  pop3d: POP3D,
  send: SEND,
  remote: REMOTE,
  auth: AUTH,
  admin: ADMIN,
  acme: ACME,
};

/** What a loader should hold for an absent file, by the table; `me` stands for control/me. */
function expected(spec: ControlSpec, me: string | undefined): unknown {
  if (spec.default === "me") {
    const value = me ?? spec.fallback;
    return spec.kind === "line" ? value : [value];
  }
  if (spec.kind === "number") return Number(spec.default);
  if (spec.default === "0" || spec.default === "1") return spec.default === "1";
  return spec.default;
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === "" ||
    (Array.isArray(value) && value.length === 0);
}

function withControls(files: Record<string, string>, body: (home: string) => void): Promise<void> {
  return withControlFiles(files, body, "qmd-loader-defaults-");
}

Deno.test("loaders: an absent control file gives the controls table's default", async () => {
  await withControls({ me: `${ME}\n` }, (home) => {
    const checked: string[] = [];
    const problems: string[] = [];
    for (const [reader, main] of Object.entries(LOADERS)) {
      const loaders = [main, ...(MORE_LOADERS[reader as ControlReader] ?? [])];
      const results = loaders.map(({ load }) => load(home));
      for (const spec of CONTROLS) {
        if (!spec.read || spec.name === "me" || !spec.readers.includes(reader as ControlReader)) {
          continue;
        }
        const which = loaders.findIndex(({ fields }) => fields[spec.name] !== undefined);
        const field = loaders[which]?.fields[spec.name];
        const loaded = results[which];
        if (field === undefined) {
          // Files with no default may be read outside the loader (TLS files, tlshosts/).
          if (spec.default !== "none") problems.push(`${reader}: no field for ${spec.name}`);
          continue;
        }
        const value = field(loaded, home);
        checked.push(`${reader} ${spec.name}`);
        if (spec.default === "none") {
          if (!isEmpty(value)) problems.push(`${reader} ${spec.name}: ${JSON.stringify(value)}`);
          continue;
        }
        const want = expected(spec, ME);
        if (JSON.stringify(value) !== JSON.stringify(want)) {
          problems.push(
            `${reader} ${spec.name}: loader ${JSON.stringify(value)}, table ${
              JSON.stringify(want)
            }`,
          );
        }
      }
    }
    assertEquals(problems, []);
    assert(checked.length > 90, `checked ${checked.length}`);
  });
});

Deno.test("loaders: without control/me the 'me' defaults fall back to qmail's literals", async () => {
  await withControls({ locals: "example.test\n" }, (home) => {
    const send = SEND.load(home);
    for (const spec of CONTROLS.filter((each) => each.fallback && each.readers.includes("send"))) {
      assertEquals(SEND.fields[spec.name](send, home), expected(spec, undefined), spec.name);
    }
  });
});
