/**
 * The recipient checks' control files (docs/patches.md: realrcptto,
 * recipients/recipientchk, rcptcheck, greylisting), read once per reload as
 * plain data; a broken file is a ControlError naming it and its line. The
 * modules that turn them into one client's settings are
 * appliance/policy/recipient_modules.ts.
 *
 * This module is a leaf: it never imports appliance/.
 */
import { CdbFormatError, readCdbRecords } from "./cdb.ts";
import { ControlError, readControlLine, readControlList, readControlNumber } from "./control.ts";
import { flagDefault, meFallback } from "./controls.ts";
import { readSendRouting, type SendRoutingControls } from "./send.ts";

/** A 0/1 control file: "0" is off, anything else on, absent its default. */
function readFlag(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined || line.trim() === "") return flagDefault(name);
  return line.trim() !== "0";
}

/** control/realrcptto and the routing lists it routes by (qmail-send's). */
export interface RealRcptToControls {
  enabled: boolean;
  routing: SendRoutingControls;
}

export function loadRealRcptTo(home: string): RealRcptToControls {
  return { enabled: readFlag(home, "realrcptto"), routing: readRecipientRouting(home) };
}

/**
 * qmail-send's routing lists as smtpd sees them. A home with neither
 * control/locals nor control/me (qmail-send would not start) has no local
 * domains here: smtpd still serves, and only virtualdomains are checked.
 */
export function readRecipientRouting(home: string): SendRoutingControls {
  if (readControlLine(home, "me") !== undefined || readControlList(home, "locals") !== undefined) {
    return readSendRouting(home);
  }
  return {
    envnoathost: readControlLine(home, "envnoathost") ?? meFallback("envnoathost"),
    locals: [],
    percenthack: (readControlList(home, "percenthack") ?? []).map((entry) => entry.value),
    virtualdomains: (readControlList(home, "virtualdomains") ?? []).map((entry) => entry.value),
  };
}

/** One cdb named in control/recipients: its path as written, its line, and its keys. */
export interface RecipientCdb {
  file: string;
  line: number;
  /** The cdb's keys as byte strings (one char per byte). */
  keys: Set<string>;
}

export interface RecipientsControls {
  /** control/recipientchk (0, 1 or 2), undefined when absent. */
  mode: number | undefined;
  /** control/recipientchkdelay. */
  delaySeconds: number;
  tables: RecipientCdb[];
  routing: SendRoutingControls;
}

/** The cdb paths control/recipients names, with their lines. */
export function readRecipientsList(home: string): { file: string; line: number }[] {
  return (readControlList(home, "recipients") ?? []).map((entry) => ({
    file: entry.value.trim(),
    line: entry.line,
  }));
}

/** A path in control/recipients: relative to the home (seed 001), or absolute. */
export function recipientCdbPath(home: string, file: string): string {
  return file.startsWith("/") ? file : `${home}/${file}`;
}

/** The keys of one cdb listed in control/recipients. */
function readRecipientCdb(home: string, file: string, line: number): RecipientCdb {
  const listing = `${home}/control/recipients`;
  const path = recipientCdbPath(home, file);
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    throw new ControlError(listing, line, `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const keys = new Set<string>();
    for (const record of readCdbRecords(bytes)) {
      let key = "";
      for (const byte of record.key) key += String.fromCharCode(byte);
      keys.add(key);
    }
    return { file, line, keys };
  } catch (error) {
    if (!(error instanceof CdbFormatError)) throw error;
    throw new ControlError(listing, line, `${path} is not a cdb: ${error.message}`);
  }
}

export function loadRecipients(home: string): RecipientsControls {
  const modeLine = readControlLine(home, "recipientchk")?.trim();
  let mode: number | undefined;
  if (modeLine !== undefined && modeLine !== "") {
    if (!/^[012]$/.test(modeLine)) {
      throw new ControlError(
        `${home}/control/recipientchk`,
        1,
        `expected 0, 1 or 2, found ${JSON.stringify(modeLine)}`,
      );
    }
    mode = Number(modeLine);
  }
  return {
    mode,
    delaySeconds: readControlNumber(home, "recipientchkdelay"),
    tables: readRecipientsList(home).map(({ file, line }) => readRecipientCdb(home, file, line)),
    routing: readRecipientRouting(home),
  };
}

/** control/rcptcheck (the program, undefined when absent or empty) and its time limit. */
export interface RcptCheckControls {
  program: string | undefined;
  timeoutSeconds: number;
}

export function loadRcptCheck(home: string): RcptCheckControls {
  const line = readControlLine(home, "rcptcheck")?.trim();
  return {
    program: line === undefined || line === "" ? undefined : line,
    timeoutSeconds: readControlNumber(home, "timeoutrcptcheck"),
  };
}

/** control/greylist, greylistdelay and greylistlifetime. */
export interface GreylistControls {
  enabled: boolean;
  delaySeconds: number;
  lifetimeSeconds: number;
}

export function loadGreylist(home: string): GreylistControls {
  return {
    enabled: readFlag(home, "greylist"),
    delaySeconds: readControlNumber(home, "greylistdelay"),
    lifetimeSeconds: readControlNumber(home, "greylistlifetime"),
  };
}

/**
 * The cdb records qmail-recipients writes for users/recipients (seed 001):
 * one per line, key `:` + the line in lower case (fastforward's address
 * key), empty data; trailing blanks are dropped, and blank lines and lines
 * starting with `#` are skipped. `!@domain` lines take a whole domain.
 * Text is a byte string (one char per byte).
 */
export function compileRecipients(text: string): { key: Uint8Array; data: Uint8Array }[] {
  const records: { key: Uint8Array; data: Uint8Array }[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[ \t\r]+$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const key = `:${line}`.replace(/[A-Z]/g, (c) => c.toLowerCase());
    const bytes = new Uint8Array(key.length);
    for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i) & 0xff;
    records.push({ key: bytes, data: new Uint8Array(0) });
  }
  return records;
}
