/**
 * Local delivery: qmail-lspawn's user lookup and qmail-local's `.qmail`
 * processing for one recipient (qmail-formats.md §5.1–§5.5, §6), turning a
 * DeliveryJob into the K/Z/D report qmail-send expects.
 *
 * qmd runs as one uid, so nothing here changes user. In place of qmail-getpw
 * (system accounts) a local part that users/assign does not claim is looked
 * up in the accounts database (virtual mailboxes at HOME/mail/DOMAIN/USER/
 * Maildir), then in the domain's own .qmail files, and finally falls to the
 * alias user (HOME/alias), as qmail-getpw's fallback does (§5.4).
 *
 * Addresses are byte strings (one char per byte) as the queue holds them;
 * they become UTF-8 text only where the OS wants text (paths, environment).
 */
import type { DeliveryJob, DeliveryReport } from "../ipc.ts";
import type { QueueLayout } from "../queue/layout.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { isValidHostname } from "../accounts/account_names.ts";
import { logWarning, safeLogText } from "../log.ts";
import { asciiLower, type Assignment, lookupAssign, readAssignSource } from "../../config/users.ts";
import { AbsentNames } from "./absent_names.ts";
import { DeliveryError, errorText } from "./delivery_error.ts";
import {
  dotQmailCandidates,
  type DotQmailInstruction,
  formatNewSender,
  ownerFileNames,
  parseDotQmail,
} from "./dot_qmail.ts";
import { formatDeliveredTo, formatFromLine, formatReturnPath } from "./headers.ts";
import { deliverToMaildir } from "./maildir.ts";
import { deliverToMbox } from "./mbox.ts";
import { CHILD_CRASHED, deliverToProgram, formatProgramEnvironment } from "./program.ts";
import { EXIT, type FailureExitCode } from "../exit_codes.ts";
import { exitCodeFor, isTemporary } from "../mail_error.ts";
import type { MaildirQuota } from "./quota.ts";

/** A virtual mailbox as the accounts database describes it. */
export interface LocalMailbox {
  /** Absolute HOME/mail/DOMAIN/USER/Maildir. */
  maildir: string;
  /** Maildir++ limits; 0 = none. */
  quotaBytes: number;
  quotaMessages: number;
}

/** Everything local delivery needs from its surroundings (the role builds it). */
export interface LocalContext {
  /** The qmd home (QMAILHOME). */
  home: string;
  layout: QueueLayout;
  /** Case-insensitive accounts lookup; undefined when there is no such mailbox. */
  findMailbox(domain: string, user: string): LocalMailbox | undefined;
  /** gethostname(), for Maildir file names. */
  hostname: string;
  now(): Date;
  /**
   * Queues a forwarded message (qmail-queue as the user). Rejects with an
   * Error whose message is qmail's text without its status letter; it is
   * permanent only as a MailError that says so (isTemporary).
   */
  inject(
    body: Uint8Array | ReadableStream<Uint8Array>,
    sender: Uint8Array,
    recipients: Uint8Array[],
  ): Promise<{ id: bigint; qp: string }>;
  /** qmail-start's defaultdelivery for users/assign and alias users; default "./Maildir/". */
  defaultDelivery?: string;
  /** Variables layered over the inherited environment for |program lines. */
  env?: Record<string, string>;
  /** mbox lock wait; default 30 s. */
  mboxLockTimeoutMs?: number;
}

/** Who a local part belongs to: qmail-lspawn's six fields, plus qmd's virtual mailbox. */
export interface LocalUser {
  /** Byte string. */
  user: string;
  /** Text (a path). */
  home: string;
  /** Byte strings. */
  dash: string;
  ext: string;
  /** How it was found. */
  source: "assign" | "mailbox" | "domain" | "alias";
  /** The virtual mailbox, when the address is one (or one's -ext). */
  mailbox?: { maildir: string; quota: MaildirQuota };
}

/** qmail-lspawn's report texts (§5.1, §5.2). */
export const MESSID_NONNUMERIC = "Internal error: messid has nonnumerics. (#5.3.5)";
export const ADDRESS_NEEDS_HOST = "Sorry, address must include host name. (#5.1.3)";
export const NO_MAILBOX = "Sorry, no mailbox here by that name. (#5.1.1)";
export const LOOPING = "This message is looping: it already has my Delivered-To line. (#5.4.6)";
const REPORT_LIMIT = 3000;
const REPORT_TOO_LONG = "\nError report too long, sorry.\n";

/** Messages up to this size are read once: the loop check and each delivery use the bytes. */
const SMALL_MESSAGE_BYTES = 256 * 1024;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** JS text (paths, OS messages) → byte string for report texts. */
function toByteString(text: string): string {
  return bytesToString(utf8Encoder.encode(text));
}

/** Byte string (an address) → JS text for paths, environment and lookups. */
function fromByteString(text: string): string {
  // ASCII (nearly every address) is the same in both.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return utf8Decoder.decode(stringToBytes(text));
  }
  return text;
}

function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash <= 0 ? "/" : trimmed.slice(0, slash);
}

function normalizePath(path: string): string {
  let out = path.replace(/\/+/g, "/").replace(/(\/\.)+(\/|$)/g, "/");
  out = out.replace(/\/+$/, "");
  return out === "" ? "/" : out;
}

/**
 * The report qmail-lspawn makes of qmail-local's exit code and output (§5.2
 * table): 0 → K, 100 → D, otherwise Z; text cut at its first NUL and at 3000
 * bytes.
 */
export function formatLocalReport(delivery: number, code: number, output: string): DeliveryReport {
  let text = output;
  const nul = text.indexOf("\0");
  if (nul >= 0) text = text.slice(0, nul);
  if (text.length > REPORT_LIMIT) text = text.slice(0, REPORT_LIMIT) + REPORT_TOO_LONG;
  const status = code === EXIT.ok ? "K" : code === EXIT.permanent ? "D" : "Z";
  return { delivery, status, text };
}

function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function mailboxUser(
  mailbox: LocalMailbox,
  address: string,
  dash: string,
  ext: string,
): LocalUser {
  return {
    user: address,
    home: dirname(mailbox.maildir),
    dash,
    ext,
    source: "mailbox",
    mailbox: {
      maildir: mailbox.maildir,
      quota: { bytes: mailbox.quotaBytes, messages: mailbox.quotaMessages },
    },
  };
}

/**
 * A mailbox for `user` in `domain`: the exact name, else the longest prefix
 * ending before a `-` (user-ext, as qmail-getpw splits at conf-break).
 */
function findMailboxUser(
  context: LocalContext,
  domain: string,
  user: string,
): LocalUser | undefined {
  const exact = context.findMailbox(domain, fromByteString(user));
  if (exact) return mailboxUser(exact, `${asciiLower(user)}@${domain}`, "", "");
  for (let i = user.lastIndexOf("-"); i > 0; i = user.lastIndexOf("-", i - 1)) {
    const prefix = user.slice(0, i);
    const found = context.findMailbox(domain, fromByteString(prefix));
    if (found) return mailboxUser(found, `${asciiLower(prefix)}@${domain}`, "-", user.slice(i + 1));
  }
  return undefined;
}

/**
 * qmail-lspawn's lookup with qmd's fallbacks (§5.2, §5.3, §5.4): users/assign
 * (users/cdb, else the text file); a virtual mailbox (local = DOMAIN-user from
 * the virtualdomains prepend, or user for a domain in locals); the domain's
 * own .qmail-EXT / .qmail-default in HOME/mail/DOMAIN; else the alias user.
 */
export async function resolveLocalUser(
  context: LocalContext,
  local: string,
  domain: string,
): Promise<LocalUser> {
  let assigned: Assignment | undefined;
  let file = `${context.home}/users/cdb`;
  try {
    const source = await readAssignSource(context.home);
    if (source !== undefined) {
      file = source.file;
      assigned = lookupAssign(source.source, local);
    }
  } catch (error) {
    logWarning(`trouble reading ${file}: ${(error as Error).message}`, { file });
    const name = file.endsWith("/assign") ? "users/assign" : "users/cdb";
    throw new DeliveryError(true, `Trouble reading ${name} in qmail-lspawn.`, { cause: error });
  }
  if (assigned !== undefined) {
    const { user, home, dash, ext } = assigned;
    return { user, home: fromByteString(home), dash, ext, source: "assign" };
  }

  const domainName = asciiLower(domain);
  if (isValidHostname(domainName)) {
    const prepend = `${domainName}-`;
    const rest = asciiLower(local).startsWith(prepend) && local.length > prepend.length
      ? local.slice(prepend.length)
      : undefined;
    const user = findMailboxUser(context, domainName, rest ?? local);
    if (user) return user;
    if (rest !== undefined) {
      const domainHome = `${context.home}/mail/${domainName}`;
      for (const candidate of dotQmailCandidates("-", rest)) {
        if (isRegularFile(`${domainHome}/${fromByteString(candidate.name)}`)) {
          return { user: domainName, home: domainHome, dash: "-", ext: rest, source: "domain" };
        }
      }
    }
  }
  return { user: "alias", home: `${context.home}/alias`, dash: "-", ext: local, source: "alias" };
}

/** The loop check's scan over the header, fed in chunks. */
class DeliveredToScan {
  readonly #dtline: Uint8Array;
  #lineLength = 0;
  #matching = true;

  constructor(dtline: Uint8Array) {
    this.#dtline = dtline;
  }

  /** true: found; false: the header ended without it; undefined: feed more. */
  feed(chunk: Uint8Array, count = chunk.length): boolean | undefined {
    const dtline = this.#dtline;
    for (let i = 0; i < count; i++) {
      const byte = chunk[i];
      if (
        this.#matching && (this.#lineLength >= dtline.length || dtline[this.#lineLength] !== byte)
      ) {
        this.#matching = false;
      }
      this.#lineLength++;
      if (byte !== 0x0a) continue;
      if (this.#lineLength <= 1) return false;
      if (this.#matching && this.#lineLength === dtline.length) return true;
      this.#lineLength = 0;
      this.#matching = true;
    }
    return undefined;
  }
}

/**
 * The loop check (§6.1): is any header line byte-for-byte our DTLINE? Reads
 * the header only, keeping at most one DTLINE's worth of a line in memory.
 */
export async function hasDeliveredToLine(
  messagePath: string,
  dtline: Uint8Array,
): Promise<boolean> {
  const file = await Deno.open(messagePath, { read: true });
  try {
    const buffer = new Uint8Array(64 * 1024);
    const scan = new DeliveredToScan(dtline);
    for (;;) {
      const count = await file.read(buffer);
      if (count === null) return false; // a last line without LF ends the header
      const found = scan.feed(buffer, count);
      if (found !== undefined) return found;
    }
  } finally {
    file.close();
  }
}

/** The loop check (§6.1) on a message already in memory. */
export function messageHasDeliveredToLine(message: Uint8Array, dtline: Uint8Array): boolean {
  return new DeliveredToScan(dtline).feed(message) ?? false;
}

/** DTLINE + the message file, as one stream, for forwarding. */
function forwardBody(dtline: Uint8Array, messagePath: string): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(dtline);
        return;
      }
      try {
        file ??= await Deno.open(messagePath, { read: true });
        const buffer = new Uint8Array(64 * 1024);
        const count = await file.read(buffer);
        if (count === null) {
          file.close();
          file = undefined;
          controller.close();
          return;
        }
        controller.enqueue(buffer.subarray(0, count));
      } catch (error) {
        file?.close();
        file = undefined;
        throw error;
      }
    },
    cancel() {
      file?.close();
      file = undefined;
    },
  });
}

/** qmail-local's arguments (§5.2 step 4), with qmd's virtual mailbox. */
export interface QmailLocalRun {
  user: LocalUser;
  /** Recipient local part and domain, original case. */
  local: string;
  domain: string;
  sender: string;
  defaultDelivery: string;
  messagePath: string;
  /** The message file's bytes, when deliverLocal read them (small messages). */
  message?: Uint8Array;
}

/** qmail-local's result: its exit code (0, 100, 111) and everything it and its programs printed. */
export interface QmailLocalResult {
  code: typeof EXIT.ok | FailureExitCode;
  output: string;
}

/**
 * qmail-local's chdir to the home and its mode checks (§6.1). Returns the
 * home's stat, which also stamps the cache of its absent .qmail names.
 */
function checkHome(home: string, create: boolean): Deno.FileInfo {
  if (!home.startsWith("/")) {
    throw new DeliveryError(true, `Unable to switch to ${home}: not an absolute path. (#4.3.0)`);
  }
  let info: Deno.FileInfo;
  try {
    try {
      info = Deno.statSync(home);
    } catch (error) {
      if (!create || !(error instanceof Deno.errors.NotFound)) throw error;
      try {
        Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
      } catch {
        // the stat below reports it
      }
      info = Deno.statSync(home);
    }
  } catch (error) {
    throw new DeliveryError(true, `Unable to switch to ${home}: ${errorText(error)}. (#4.3.0)`, {
      cause: error,
    });
  }
  if (!info.isDirectory) {
    throw new DeliveryError(true, `Unable to switch to ${home}: not a directory. (#4.3.0)`);
  }
  const mode = info.mode ?? 0;
  // conf-patrn 002 (§6.1).
  if (mode & 0o002) throw new DeliveryError(true, "Uh-oh: home directory is writable. (#4.7.0)");
  if (mode & 0o1000) {
    throw new DeliveryError(
      true,
      "Home directory is sticky: user is editing his .qmail file. (#4.2.1)",
    );
  }
  return info;
}

/** Absent .qmail names per home directory (see absent_names.ts). */
const absentNames = new AbsentNames();

interface FoundDotQmail {
  text: string;
  forwardOnly: boolean;
  defaultPart?: string;
}

/** The .qmail search (§6.2): undefined when no candidate exists. */
function findDotQmail(
  home: string,
  dash: string,
  ext: string,
  absent: Set<string> | undefined,
): FoundDotQmail | undefined {
  for (const candidate of dotQmailCandidates(dash, ext)) {
    const name = fromByteString(candidate.name);
    if (absent?.has(name)) continue;
    const path = `${home}/${name}`;
    let info: Deno.FileInfo;
    let bytes: Uint8Array;
    try {
      info = Deno.statSync(path);
      if (!info.isFile) continue;
      bytes = Deno.readFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        absentNames.note(absent, home, name);
        continue;
      }
      if (error instanceof Deno.errors.NotADirectory) continue;
      throw new DeliveryError(true, `Unable to open ${name}: ${errorText(error)}. (#4.3.0)`, {
        cause: error,
      });
    }
    const mode = info.mode ?? 0;
    if (mode & 0o002) throw new DeliveryError(true, "Uh-oh: .qmail file is writable. (#4.7.0)");
    return {
      text: bytesToString(bytes),
      forwardOnly: (mode & 0o100) !== 0,
      defaultPart: candidate.defaultFrom === undefined
        ? undefined
        : ext.slice(candidate.defaultFrom),
    };
  }
  return undefined;
}

function ownerExists(home: string, name: string, absent: Set<string> | undefined): boolean {
  const text = fromByteString(name);
  if (absent?.has(text)) return false;
  try {
    Deno.statSync(`${home}/${text}`);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) absentNames.note(absent, home, text);
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      return false;
    }
    throw new DeliveryError(true, `Unable to open ${name}: ${errorText(error)}. (#4.3.0)`, {
      cause: error,
    });
  }
}

/**
 * qmail-local (§5.5, §6): checks the home, refuses loops, finds the .qmail
 * file, runs its lines in order (file and program deliveries at once,
 * forwards collected and injected once at the end) and prints `did F+W+P`.
 */
export async function runQmailLocal(
  run: QmailLocalRun,
  context: LocalContext,
): Promise<QmailLocalResult> {
  let output = "";
  const { user, local, domain, sender, messagePath } = run;
  try {
    const homeInfo = checkHome(user.home, user.mailbox !== undefined);
    const absent = absentNames.namesFor(user.home, homeInfo, Date.now());
    const now = context.now();
    const dtline = formatDeliveredTo(local, domain);
    const rpline = formatReturnPath(sender);
    const ufline = formatFromLine(sender, now);
    const dtlineBytes = stringToBytes(dtline);
    const rplineBytes = stringToBytes(rpline);

    try {
      const looping = run.message !== undefined
        ? messageHasDeliveredToLine(run.message, dtlineBytes)
        : await hasDeliveredToLine(messagePath, dtlineBytes);
      if (looping) throw new DeliveryError(false, LOOPING);
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      throw new DeliveryError(true, `Unable to read message: ${errorText(error)}. (#4.3.0)`, {
        cause: error,
      });
    }

    const owners = ownerFileNames(user.dash, user.ext);
    const newSender = formatNewSender(sender, local, domain, {
      owner: sender !== "" && sender !== "#@[]" && ownerExists(user.home, owners.owner, absent),
      ownerDefault: sender !== "" && sender !== "#@[]" &&
        ownerExists(user.home, owners.ownerDefault, absent),
    });

    const found = findDotQmail(user.home, user.dash, user.ext, absent);
    if (found === undefined && user.dash !== "") throw new DeliveryError(false, NO_MAILBOX);
    let forwardOnly = found?.forwardOnly ?? false;
    let text = found?.text ?? run.defaultDelivery;
    if (found !== undefined && found.text === "") {
      text = run.defaultDelivery;
      forwardOnly = false;
    }
    const instructions: DotQmailInstruction[] = parseDotQmail(text);

    // Built when the first |program line needs it.
    const programEnvironment = () => ({
      ...context.env,
      ...formatProgramEnvironment({
        user: fromByteString(user.user),
        home: user.home,
        local: fromByteString(local),
        host: fromByteString(domain),
        sender: fromByteString(sender),
        newSender: fromByteString(newSender),
        ext: fromByteString(user.ext),
        defaultPart: found?.defaultPart === undefined
          ? undefined
          : fromByteString(found.defaultPart),
        dtline: fromByteString(dtline),
        rpline: fromByteString(rpline),
        ufline: fromByteString(ufline),
      }),
    });
    let env: Record<string, string> | undefined;

    let files = 0;
    let programs = 0;
    const forwards: string[] = [];
    for (const instruction of instructions) {
      let stop = false;
      switch (instruction.kind) {
        case "forward-only":
          forwardOnly = true;
          break;
        case "forward":
          forwards.push(instruction.address);
          break;
        case "maildir":
        case "mbox": {
          files++;
          if (forwardOnly) {
            throw new DeliveryError(
              true,
              "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)",
            );
          }
          const path = fromByteString(instruction.path);
          const resolved = path.startsWith("/") ? path : `${user.home}/${path}`;
          if (instruction.kind === "maildir") {
            const own = user.mailbox !== undefined &&
              normalizePath(resolved) === normalizePath(user.mailbox.maildir);
            await deliverToMaildir(
              resolved,
              { rpline: rplineBytes, dtline: dtlineBytes },
              messagePath,
              {
                hostname: context.hostname,
                now,
                create: own,
                quota: own ? user.mailbox!.quota : undefined,
                message: run.message,
              },
            );
          } else {
            await deliverToMbox(
              resolved,
              { ufline: stringToBytes(ufline), rpline: rplineBytes, dtline: dtlineBytes },
              messagePath,
              { lockTimeoutMs: context.mboxLockTimeoutMs },
            );
          }
          break;
        }
        case "program": {
          programs++;
          if (forwardOnly) {
            throw new DeliveryError(
              true,
              "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)",
            );
          }
          let result;
          try {
            result = await deliverToProgram(fromByteString(instruction.command), {
              cwd: user.home,
              env: env ??= programEnvironment(),
              messagePath,
              outputLimit: REPORT_LIMIT + 1,
            });
          } catch (error) {
            throw new DeliveryError(true, (error as Error).message, { cause: error });
          }
          output += bytesToString(result.output);
          if (result.outcome === "crashed") throw new DeliveryError(true, CHILD_CRASHED);
          if (result.outcome === "permanent") return { code: EXIT.permanent, output };
          if (result.outcome === "temporary") return { code: EXIT.temporary, output };
          if (result.outcome === "stop") stop = true;
          break;
        }
      }
      if (stop) break;
    }

    let qp: string | undefined;
    if (forwards.length > 0) {
      try {
        const queued = await context.inject(
          forwardBody(dtlineBytes, messagePath),
          stringToBytes(newSender),
          forwards.map(stringToBytes),
        );
        qp = queued.qp;
      } catch (error) {
        throw new DeliveryError(
          isTemporary(error),
          `Unable to forward message: ${(error as Error).message}.`,
          {
            cause: error,
          },
        );
      }
    }
    output += `did ${files}+${forwards.length}+${programs}\n`;
    if (qp !== undefined) output += `qp ${qp}\n`;
    return { code: EXIT.ok, output };
  } catch (error) {
    if (error instanceof DeliveryError) {
      return {
        code: exitCodeFor(error),
        output: output + toByteString(error.message) + "\n",
      };
    }
    logWarning(`local delivery failed unexpectedly: ${errorText(error)}`);
    return {
      code: EXIT.temporary,
      output: output + "Temporary failure in qmail-local. (#4.3.0)\n",
    };
  }
}

/**
 * The whole message file, or undefined (then each step reads the file
 * itself and reports its own error). A queue message never changes once
 * queued; one that grew past the size seen is left to the file path.
 */
function readSmallMessage(messagePath: string): Uint8Array | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(messagePath, { read: true });
  } catch {
    return undefined;
  }
  try {
    const size = file.statSync().size;
    if (size > SMALL_MESSAGE_BYTES) return undefined;
    const bytes = new Uint8Array(size + 1);
    let length = 0;
    for (;;) {
      const count = file.readSync(bytes.subarray(length));
      if (count === null) break;
      length += count;
      if (length > size) return undefined;
    }
    return bytes.subarray(0, length);
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/**
 * One delivery, as qmail-lspawn + qmail-local: validate the command, find
 * the user, run the .qmail instructions, report K/Z/D.
 */
export async function deliverLocal(
  job: DeliveryJob,
  context: LocalContext,
): Promise<DeliveryReport> {
  const report = (code: number, output: string) => formatLocalReport(job.delivery, code, output);
  if (!/^[0-9][0-9/]*$/.test(job.mess) || job.mess.length > 100) {
    return report(EXIT.permanent, MESSID_NONNUMERIC + "\n");
  }
  const at = job.recipient.lastIndexOf("@");
  if (at < 0) return report(EXIT.permanent, ADDRESS_NEEDS_HOST + "\n");
  const messagePath = context.layout.messFromName(job.mess);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(messagePath);
  } catch {
    return report(EXIT.temporary, "qmail-spawn unable to open message. (#4.3.0)\n");
  }
  if (!info.isFile) return report(EXIT.temporary, "Sorry, message has wrong type. (#4.3.5)\n");
  const local = job.recipient.slice(0, at);
  const domain = job.recipient.slice(at + 1);
  if (local === "") return report(EXIT.ok, ""); // the trash can (§5.2 step 1)

  let user: LocalUser;
  try {
    user = await resolveLocalUser(context, local, domain);
  } catch (error) {
    if (error instanceof DeliveryError) {
      return report(EXIT.temporary, toByteString(error.message) + "\n");
    }
    logWarning(`user lookup for ${safeLogText(job.recipient)} failed: ${errorText(error)}`);
    return report(EXIT.temporary, "Temporary failure in qmail-lspawn.\n");
  }
  const defaultDelivery = toByteString(
    user.mailbox !== undefined
      ? `${user.mailbox.maildir.replace(/\/+$/, "")}/\n`
      : context.defaultDelivery ?? "./Maildir/\n",
  );
  const result = await runQmailLocal({
    user,
    local,
    domain,
    sender: job.sender,
    defaultDelivery,
    messagePath,
    message: info.size <= SMALL_MESSAGE_BYTES ? readSmallMessage(messagePath) : undefined,
  }, context);
  return report(result.code, result.output);
}
