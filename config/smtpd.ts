/**
 * qmail-smtpd's controls (docs/queue-format.md §8.1, §9) and the seed patches'
 * (docs/patches.md seed 000 qmail-md, seed 001 aio): read once per reload and returned as
 * plain data, so they can cross postMessage. Environment overrides are
 * applied per connection by resolveSmtpdPolicy(), because tcprules can set
 * them per client (tcp.smtp), layered over the process environment.
 */
import { checkServerCiphers } from "./tls_ciphers.ts";
import {
  ControlError,
  orDefault,
  readControlLine,
  readControlLines,
  readControlList,
  readControlNumber,
} from "./control.ts";
import { type AuthFailurePolicy, loadAuthFailurePolicy } from "./auth_limits.ts";
import { flagDefault, numberDefault } from "./controls.ts";
import { asciiLower } from "./ascii.ts";
import { loadQueueExtrasControls, type QueueExtrasControls } from "./queue_extras.ts";
import { readCheckpassword } from "./checkpassword.ts";
import { loadStressControls, type StressControls } from "./stress.ts";

/** `address:bytes` lines of databytesmf / databytesrcpt (docs/patches.md seed 001). */
export type SizeTable = Record<string, number>;

export interface SmtpdControls {
  me: string;
  /** control/smtpgreeting lines, else [me]. */
  greeting: string[];
  /** control/localiphost, else me. */
  localIpHost: string;
  /** control/rcpthosts entries (lowercased); null when the file is absent. */
  rcptHosts: string[] | null;
  /** Path of control/morercpthosts.cdb when it exists. */
  moreRcptHostsCdb: string | null;
  /** Bytes; 0 = unlimited. */
  databytes: number;
  /**
   * databytes+ (docs/patches.md seed 000): the size limit for BLACKLISTED clients; 0 = databytes.
   */
  databytesPlus: number;
  databytesMf: SizeTable | null;
  databytesRcpt: SizeTable | null;
  /** Seconds per read and write; ≤ 0 becomes 1 as in qmail. */
  timeoutSeconds: number;
  /** qmd's: seconds from a command line's first byte to its LF; 0 = no such deadline. */
  commandTimeoutSeconds: number;
  /** qmd's: seconds from the 354 to the final dot; 0 = no such deadline. */
  dataTimeoutSeconds: number;
  maxRcpt: number;
  maxRecipients: number;
  maxCmdLen: number;
  maxAddrLen: number;
  maxHops: number;
  tarpitCount: number;
  tarpitDelay: number;
  greetDelay: number;
  heloDelay: number;
  mfDelay: number;
  rcptDelay: number;
  dataBeforeGreet: boolean;
  authSmtp: number;
  authSmtps: number;
  authDelay: number;
  authFailDelay: number;
  /** qmd's failed-login limits (authfaillimit, authfailuserlimit, authfaillock, authfaillocktrusted). */
  authFailures: AuthFailurePolicy;
  oldAuth: boolean;
  secAuthExt: boolean;
  secAuthInt: boolean;
  tlsSmtpExt: boolean;
  tlsSmtpInt: boolean;
  /** control/checkpassword (qmd's): the checkpassword command line for users/assign users. */
  checkpassword: string[] | null;
  concurrencyIncoming: number;
  concurrencyPerIp: number;
  /** qmd's stress mode: concurrencyperipstress, timeoutstress, dataratestress. */
  stress: StressControls;
  /** qmail-queue's additions: bigbrother, extraqueue, originipfield (config/queue_extras.ts). */
  queueExtras: QueueExtrasControls;
  /**
   * BATV (docs/patches.md seed 001): control/signkey (null = no checking), signkeystale days, and
   * the exclusions.
   */
  batv: { key: string | null; staleDays: number; noSignMyDoms: string[]; noSignHosts: string[] };
  log: {
    smtpIn: boolean;
    smtpOut: boolean;
    orChecks: boolean;
    tarpitting: boolean;
    tcpserver: boolean;
    /** log/pidqplog: `mail recv: pid P from <S> qp Q` for each message queued (seed 003). */
    pidQp: boolean;
  };
}

/**
 * What other modules need of smtpd's defaults; like every default it comes
 * from config/controls.ts (the README's control table is written from it).
 */
export const SMTPD_DEFAULTS = {
  maxCmdLen: numberDefault("maxcmdlen"),
} as const;

/** Set and not "0" (an empty file is off); absent gives the table's default. */
function readFlag(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return flagDefault(name);
  const trimmed = line.trim();
  return trimmed !== "" && trimmed !== "0";
}

/** tlssmtpext/int: absent gives the table's default (on, see the README); only "0" is off. */
function readOptionalFlag(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return flagDefault(name);
  return line.trim() !== "0";
}

function readSizeTable(home: string, name: string): SizeTable | null {
  const entries = readControlList(home, name);
  if (entries === undefined) return null;
  const table: SizeTable = {};
  for (const entry of entries) {
    const colon = entry.value.lastIndexOf(":");
    const bytes = entry.value.slice(colon + 1).trim();
    if (colon <= 0 || !/^\d+$/.test(bytes)) {
      throw new ControlError(
        `${home}/control/${name}`,
        entry.line,
        `expected address:bytes, found ${JSON.stringify(entry.value)}`,
      );
    }
    const key = entry.value.slice(0, colon).toLowerCase();
    if (!(key in table)) table[key] = Number(bytes);
  }
  return table;
}

export function loadSmtpdControls(home: string): SmtpdControls {
  checkServerCiphers(home);
  const me = readControlLine(home, "me");
  const greeting = readControlLines(home, "smtpgreeting") ?? (me === undefined ? undefined : [me]);
  if (greeting === undefined || greeting.length === 0) {
    throw new ControlError(
      `${home}/control/me`,
      0,
      "missing: qmail-smtpd needs control/me or control/smtpgreeting",
    );
  }
  // ASCII letters only, as qmail's case_lowerb: a UTF-8 domain keeps its other characters as written.
  const rcptHosts = readControlList(home, "rcpthosts")?.map((entry) => asciiLower(entry.value)) ??
    null;
  const morePath = `${home}/control/morercpthosts.cdb`;
  let moreRcptHostsCdb: string | null = null;
  try {
    if (Deno.statSync(morePath).isFile) moreRcptHostsCdb = morePath;
  } catch {
    moreRcptHostsCdb = null;
  }
  let timeoutSeconds = readControlNumber(home, "timeoutsmtpd");
  if (timeoutSeconds <= 0) timeoutSeconds = 1;
  return {
    me: me ?? greeting[0].split(" ")[0],
    greeting,
    localIpHost: readControlLine(home, "localiphost") ?? me ?? "",
    rcptHosts,
    moreRcptHostsCdb,
    databytes: readControlNumber(home, "databytes"),
    databytesPlus: readControlNumber(home, "databytes+"),
    databytesMf: orDefault(() => readSizeTable(home, "databytesmf"), null),
    databytesRcpt: orDefault(() => readSizeTable(home, "databytesrcpt"), null),
    timeoutSeconds,
    commandTimeoutSeconds: readControlNumber(home, "timeoutcommand"),
    dataTimeoutSeconds: readControlNumber(home, "timeoutdata"),
    maxRcpt: readControlNumber(home, "maxrcpt"),
    maxRecipients: readControlNumber(home, "maxrecipients"),
    maxCmdLen: readControlNumber(home, "maxcmdlen"),
    maxAddrLen: readControlNumber(home, "maxaddrlen"),
    maxHops: readControlNumber(home, "maxhops"),
    tarpitCount: readControlNumber(home, "tarpitcount"),
    tarpitDelay: readControlNumber(home, "tarpitdelay"),
    greetDelay: readControlNumber(home, "greetdelay"),
    heloDelay: readControlNumber(home, "helodelay"),
    mfDelay: readControlNumber(home, "mfdelay"),
    rcptDelay: readControlNumber(home, "rcptdelay"),
    dataBeforeGreet: readFlag(home, "databeforegreet"),
    authSmtp: readControlNumber(home, "auth/smtp"),
    authSmtps: readControlNumber(home, "auth/smtps"),
    authDelay: readControlNumber(home, "auth/delay"),
    authFailDelay: readControlNumber(home, "authfaildelay"),
    authFailures: loadAuthFailurePolicy(home),
    oldAuth: readControlNumber(home, "auth/oldauth") > 0,
    secAuthExt: readFlag(home, "secauthext"),
    secAuthInt: readFlag(home, "secauthint"),
    tlsSmtpExt: readOptionalFlag(home, "tlssmtpext"),
    tlsSmtpInt: readOptionalFlag(home, "tlssmtpint"),
    checkpassword: readCheckpassword(home) ?? null,
    concurrencyIncoming: readControlNumber(home, "concurrencyincoming"),
    concurrencyPerIp: readControlNumber(home, "concurrencyperip"),
    stress: loadStressControls(home),
    queueExtras: loadQueueExtrasControls(home),
    batv: {
      key: readControlLine(home, "signkey")?.trim() || null,
      staleDays: readControlNumber(home, "signkeystale"),
      noSignMyDoms: readControlList(home, "nosignmydoms")?.map((e) => e.value.toLowerCase()) ?? [],
      noSignHosts: readControlList(home, "nosignhosts")?.map((e) => e.value.toLowerCase()) ?? [],
    },
    log: {
      smtpIn: readFlag(home, "log/smtp_in"),
      smtpOut: readFlag(home, "log/smtp_out"),
      orChecks: readFlag(home, "log/orchecks"),
      tarpitting: readFlag(home, "log/tarpitting"),
      tcpserver: readFlag(home, "log/tcpserver"),
      pidQp: readFlag(home, "log/pidqplog"),
    },
  };
}

/** The per-connection policy: the controls with the environment's overrides applied. */
export interface SmtpdPolicy {
  databytes: number;
  databytesPlus: number;
  databytesMf: SizeTable | null;
  databytesRcpt: SizeTable | null;
  maxRcpt: number;
  maxRecipients: number;
  tarpitCount: number;
  tarpitDelay: number;
  greetDelay: number;
  heloDelay: number;
  mfDelay: number;
  rcptDelay: number;
  dataBeforeGreet: boolean;
  authFailDelay: number;
  /** AUTH only after TLS for this client (secauthext for outsiders, secauthint for RELAYCLIENT). */
  secAuth: boolean;
  /** STARTTLS offered to this client (tlssmtpext / tlssmtpint). */
  tlsOffered: boolean;
  relayClient: string | undefined;
  /** SMTPS: TLS from the first byte (docs/patches.md seed 001, seed 002). */
  smtps: boolean;
  /** BLACKLISTED (docs/patches.md seed 000): the address every message goes to. */
  blacklisted: string | undefined;
  /** RCPTTOFIXED (docs/patches.md seed 000 md19): every message goes to this one address. */
  rcptToFixed: string | undefined;
  /** SMTPGREETING (docs/patches.md seed 000 md20): this client's greeting instead of control/smtpgreeting. */
  smtpGreeting: string | undefined;
  /** QMAILQUEUE: the qmail-queue program to run instead of the built-in queue. */
  qmailQueue: string | undefined;
  /** tcpserver-limits' MAXCONNIP, else control/concurrencyperip. */
  maxPerIp: number;
}

/** A whole number from the environment, or undefined (qmail keeps the control's value). */
function envNumber(env: Record<string, string | undefined>, name: string): number | undefined {
  const value = env[name]?.trim();
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** Set and not "0" (aio's toggles: "if the environment variable X is set, it overrides x"). */
function envFlag(env: Record<string, string | undefined>, name: string): boolean | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  return value.trim() !== "0";
}

/** The variable's value, or undefined when it is unset or empty. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Applies the environment over the controls, as the seeds (docs/patches.md) name the
 * variables: DATABYTES, DATABYTESMF=0 / DATABYTESRCPT=0 (off), MAXRECIPIENTS,
 * TARPITCOUNT, TARPITDELAY, NO_TARPITTING, GREETDELAY, HELODELAY, MFDELAY,
 * RCPTDELAY, DATABEFOREGREET, AUTHFAILDELAY, SECAUTHEXT, SECAUTHINT,
 * TLSSMTPEXT, TLSSMTPINT, RELAYCLIENT, SMTPS, BLACKLISTED, RCPTTOFIXED,
 * SMTPGREETING, QMAILQUEUE, MAXCONNIP.
 */
export function resolveSmtpdPolicy(
  controls: SmtpdControls,
  env: Record<string, string | undefined>,
): SmtpdPolicy {
  const relayClient = env.RELAYCLIENT;
  const internal = relayClient !== undefined;
  const noTarpit = env.NO_TARPITTING !== undefined;
  const secAuth = internal
    ? envFlag(env, "SECAUTHINT") ?? controls.secAuthInt
    : envFlag(env, "SECAUTHEXT") ?? controls.secAuthExt;
  const tlsOffered = internal
    ? envFlag(env, "TLSSMTPINT") ?? controls.tlsSmtpInt
    : envFlag(env, "TLSSMTPEXT") ?? controls.tlsSmtpExt;
  return {
    databytes: envNumber(env, "DATABYTES") ?? controls.databytes,
    databytesPlus: controls.databytesPlus,
    databytesMf: env.DATABYTESMF?.trim() === "0" ? null : controls.databytesMf,
    databytesRcpt: env.DATABYTESRCPT?.trim() === "0" ? null : controls.databytesRcpt,
    maxRcpt: controls.maxRcpt,
    maxRecipients: envNumber(env, "MAXRECIPIENTS") ?? controls.maxRecipients,
    tarpitCount: noTarpit ? 0 : envNumber(env, "TARPITCOUNT") ?? controls.tarpitCount,
    tarpitDelay: envNumber(env, "TARPITDELAY") ?? controls.tarpitDelay,
    greetDelay: envNumber(env, "GREETDELAY") ?? controls.greetDelay,
    heloDelay: envNumber(env, "HELODELAY") ?? controls.heloDelay,
    mfDelay: envNumber(env, "MFDELAY") ?? controls.mfDelay,
    rcptDelay: envNumber(env, "RCPTDELAY") ?? controls.rcptDelay,
    dataBeforeGreet: envFlag(env, "DATABEFOREGREET") ?? controls.dataBeforeGreet,
    authFailDelay: Math.max(envNumber(env, "AUTHFAILDELAY") ?? controls.authFailDelay, 0),
    secAuth,
    tlsOffered,
    relayClient,
    smtps: env.SMTPS !== undefined,
    blacklisted: env.BLACKLISTED === undefined || env.BLACKLISTED === ""
      ? undefined
      : env.BLACKLISTED,
    rcptToFixed: nonEmpty(env.RCPTTOFIXED),
    smtpGreeting: nonEmpty(env.SMTPGREETING),
    qmailQueue: env.QMAILQUEUE === undefined || env.QMAILQUEUE === "" ? undefined : env.QMAILQUEUE,
    maxPerIp: envNumber(env, "MAXCONNIP") ?? controls.concurrencyPerIp,
  };
}
