/**
 * qmail-smtpd's controls (qmail-formats.md §8.1, §9) and the seed patches'
 * (seed 000 qmail-md, seed 001 aio): read once per reload and returned as
 * plain data, so they can cross postMessage. Environment overrides are
 * applied per connection by resolveSmtpdPolicy(), because tcprules can set
 * them per client (tcp.smtp), layered over the process environment.
 */
import {
  ControlError,
  orDefault,
  readControlLine,
  readControlLines,
  readControlList,
  readControlNumber,
} from "./control.ts";
import { type AuthFailurePolicy, loadAuthFailurePolicy } from "./auth_limits.ts";

/** `address:bytes` lines of databytesmf / databytesrcpt (seed 001). */
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
  badMailFrom: string[];
  /** Bytes; 0 = unlimited. */
  databytes: number;
  /** databytes+ (seed 000): the size limit for BLACKLISTED clients; 0 = databytes. */
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
  /** BATV (seed 001): control/signkey (null = no checking), signkeystale days, and the exclusions. */
  batv: { key: string | null; staleDays: number; noSignMyDoms: string[]; noSignHosts: string[] };
  log: { smtpIn: boolean; smtpOut: boolean; orChecks: boolean; tarpitting: boolean };
}

/** Defaults where the seeds give none: documented in the README control table. */
export const SMTPD_DEFAULTS = {
  /** qmd's: 4096 bytes (RFC 5321 §4.5.3.1.4 asks for at least 512). */
  maxCmdLen: 4096,
  /** qmail-md's default (seed 000 md20): 900, i.e. addresses up to 899 bytes. */
  maxAddrLen: 900,
  maxHops: 100,
  /** aio (seed 001): maxrecipients defaults to 100, RFC 5321 §4.5.3.1.8's minimum. */
  maxRecipients: 100,
  tarpitDelay: 5,
  authSmtp: 60,
  authSmtps: 63,
  /** qmd's: total SMTP sessions at once (the qmail run files' MAXCON is 40). */
  concurrencyIncoming: 200,
  /** qmd's: sessions per client IP (tcpserver's per-IP limit in seed 004's run file). */
  concurrencyPerIp: 20,
} as const;

function readFlag(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return false;
  const trimmed = line.trim();
  return trimmed !== "" && trimmed !== "0";
}

/** A tri-state for tlssmtpext/int: absent = on (qmd's default, see the README), "0" = off. */
function readOptionalFlag(home: string, name: string, fallback: boolean): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return fallback;
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

/**
 * qmd's overall deadlines (qmail has only timeoutsmtpd, per read, so a client
 * sending a byte now and then could hold a session forever): a command line
 * must end this long after its first byte, a DATA section this long after
 * the 354. The DATA default is qmail's timeoutsmtpd default.
 */
export const COMMAND_TIMEOUT_SECONDS = 120;
export const DATA_TIMEOUT_SECONDS = 1200;

export function loadSmtpdControls(home: string): SmtpdControls {
  const me = readControlLine(home, "me");
  const greeting = readControlLines(home, "smtpgreeting") ?? (me === undefined ? undefined : [me]);
  if (greeting === undefined || greeting.length === 0) {
    throw new ControlError(
      `${home}/control/me`,
      0,
      "missing: qmail-smtpd needs control/me or control/smtpgreeting",
    );
  }
  const rcptHosts = readControlList(home, "rcpthosts")?.map((entry) => entry.value.toLowerCase()) ??
    null;
  const morePath = `${home}/control/morercpthosts.cdb`;
  let moreRcptHostsCdb: string | null = null;
  try {
    if (Deno.statSync(morePath).isFile) moreRcptHostsCdb = morePath;
  } catch {
    moreRcptHostsCdb = null;
  }
  let timeoutSeconds = readControlNumber(home, "timeoutsmtpd", 1200);
  if (timeoutSeconds <= 0) timeoutSeconds = 1;
  const checkpassword = readControlLine(home, "checkpassword")?.trim().split(/\s+/) ?? null;
  return {
    me: me ?? greeting[0].split(" ")[0],
    greeting,
    localIpHost: readControlLine(home, "localiphost") ?? me ?? "",
    rcptHosts,
    moreRcptHostsCdb,
    badMailFrom: readControlList(home, "badmailfrom")?.map((entry) => entry.value) ?? [],
    databytes: readControlNumber(home, "databytes", 0),
    databytesPlus: readControlNumber(home, "databytes+", 0),
    databytesMf: orDefault(() => readSizeTable(home, "databytesmf"), null),
    databytesRcpt: orDefault(() => readSizeTable(home, "databytesrcpt"), null),
    timeoutSeconds,
    commandTimeoutSeconds: readControlNumber(home, "timeoutcommand", COMMAND_TIMEOUT_SECONDS),
    dataTimeoutSeconds: readControlNumber(home, "timeoutdata", DATA_TIMEOUT_SECONDS),
    maxRcpt: readControlNumber(home, "maxrcpt", 0),
    maxRecipients: readControlNumber(home, "maxrecipients", SMTPD_DEFAULTS.maxRecipients),
    maxCmdLen: readControlNumber(home, "maxcmdlen", SMTPD_DEFAULTS.maxCmdLen),
    maxAddrLen: readControlNumber(home, "maxaddrlen", SMTPD_DEFAULTS.maxAddrLen),
    maxHops: readControlNumber(home, "maxhops", SMTPD_DEFAULTS.maxHops),
    tarpitCount: readControlNumber(home, "tarpitcount", 0),
    tarpitDelay: readControlNumber(home, "tarpitdelay", SMTPD_DEFAULTS.tarpitDelay),
    greetDelay: readControlNumber(home, "greetdelay", 0),
    heloDelay: readControlNumber(home, "helodelay", 0),
    mfDelay: readControlNumber(home, "mfdelay", 0),
    rcptDelay: readControlNumber(home, "rcptdelay", 0),
    dataBeforeGreet: readFlag(home, "databeforegreet"),
    authSmtp: readControlNumber(home, "auth/smtp", SMTPD_DEFAULTS.authSmtp),
    authSmtps: readControlNumber(home, "auth/smtps", SMTPD_DEFAULTS.authSmtps),
    authDelay: readControlNumber(home, "auth/delay", 0),
    authFailDelay: readControlNumber(home, "authfaildelay", 0),
    authFailures: loadAuthFailurePolicy(home),
    oldAuth: readControlNumber(home, "auth/oldauth", 0) > 0,
    secAuthExt: readFlag(home, "secauthext"),
    secAuthInt: readFlag(home, "secauthint"),
    tlsSmtpExt: readOptionalFlag(home, "tlssmtpext", true),
    tlsSmtpInt: readOptionalFlag(home, "tlssmtpint", true),
    checkpassword: checkpassword === null || checkpassword[0] === "" ? null : checkpassword,
    concurrencyIncoming: readControlNumber(
      home,
      "concurrencyincoming",
      SMTPD_DEFAULTS.concurrencyIncoming,
    ),
    concurrencyPerIp: readControlNumber(home, "concurrencyperip", SMTPD_DEFAULTS.concurrencyPerIp),
    batv: {
      key: readControlLine(home, "signkey")?.trim() || null,
      staleDays: readControlNumber(home, "signkeystale", 7),
      noSignMyDoms: readControlList(home, "nosignmydoms")?.map((e) => e.value.toLowerCase()) ?? [],
      noSignHosts: readControlList(home, "nosignhosts")?.map((e) => e.value.toLowerCase()) ?? [],
    },
    log: {
      smtpIn: readFlag(home, "log/smtp_in"),
      smtpOut: readFlag(home, "log/smtp_out"),
      orChecks: readFlag(home, "log/orchecks"),
      tarpitting: readFlag(home, "log/tarpitting"),
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
  /** SMTPS: TLS from the first byte (seed 001, seed 002). */
  smtps: boolean;
  /** BLACKLISTED (seed 000): the address every message goes to. */
  blacklisted: string | undefined;
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

/**
 * Applies the environment over the controls, as the seeds name the
 * variables: DATABYTES, DATABYTESMF=0 / DATABYTESRCPT=0 (off), MAXRECIPIENTS,
 * TARPITCOUNT, TARPITDELAY, NO_TARPITTING, GREETDELAY, HELODELAY, MFDELAY,
 * RCPTDELAY, DATABEFOREGREET, AUTHFAILDELAY, SECAUTHEXT, SECAUTHINT,
 * TLSSMTPEXT, TLSSMTPINT, RELAYCLIENT, SMTPS, BLACKLISTED, QMAILQUEUE,
 * MAXCONNIP.
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
    qmailQueue: env.QMAILQUEUE === undefined || env.QMAILQUEUE === "" ? undefined : env.QMAILQUEUE,
    maxPerIp: envNumber(env, "MAXCONNIP") ?? controls.concurrencyPerIp,
  };
}
