/**
 * Builds a working qmd home, as qmail's install (`hier.c`) plus
 * `config-fast FQDN` do: control/ (me, defaultdomain, plusdomain, locals,
 * rcpthosts), users/assign, the alias user's home with .qmail-postmaster,
 * .qmail-mailer-daemon and .qmail-root delivering to ./Maildir/, HOME/mail for
 * virtual mailboxes, log/trace/ for the decision trace, and queue/ with qmail's directories and modes
 * (docs/queue-format.md §2.1) in the big-todo layout (§2.4).
 *
 * It also writes control/servercert.pem, mode 0600: a private key and a
 * self-signed certificate for control/me in one PEM file, as qmail's TLS
 * patch expects (its `make cert`), so STARTTLS and SMTPS work at once; the
 * operator replaces it with a CA-signed one (README).
 *
 * Idempotent: directories are made only when missing and files are created
 * with O_EXCL, so nothing an operator wrote is ever overwritten and existing
 * modes are left alone. An existing queue keeps its todo layout. Everything
 * it makes gets its mode set explicitly, whatever the umask (the home 0755,
 * as qmail's /var/qmail). An existing empty control/me is refused: qmail
 * would greet and bounce with an empty name. Changing control/me on an
 * existing home is change_me.ts's job.
 */
import { homePaths } from "../../config/home.ts";
import { readControlLine } from "../../config/control.ts";
import { createSelfSignedCertificate } from "../tls/self_signed.ts";
import {
  bucketDirectory,
  DEFAULT_SPLIT,
  lockFile,
  QUEUE_DIRECTORIES,
  QUEUE_MODE,
  queueDirectory,
} from "../queue/layout.ts";
import { isValidHostname } from "../accounts/account_names.ts";
import { makeFifo } from "../queue/trigger.ts";
import { errorText } from "../deliver/delivery_error.ts";
import { fileExists } from "../durable_file.ts";
import { MailError } from "../mail_error.ts";
import { createAdminPassword } from "../admin/admin_state.ts";

export interface InitHomeOptions {
  /** This host's name (control/me); default from the host name, see defaultMe. */
  me?: string;
  /** The host name the default comes from; default Deno.hostname(). */
  hostname?: string;
}

export interface InitHomeResult {
  /** Paths created, relative to the home, in creation order. */
  created: string[];
  /** What the operator should know about what was made, one sentence each. */
  notes: string[];
  /** The admin console's password when this call made it (HOME/admin/password holds its hash). */
  adminPassword?: string;
}

/** A home that cannot be made or used as it is; the message names the path. */
export class InitError extends MailError {
  constructor(
    message: string,
    /** Whether trying again may help (an I/O error) or the operator must act first. */
    temporary: boolean,
    options?: ErrorOptions,
  ) {
    super(message, { ...options, temporary });
    this.name = "InitError";
  }
}

/** Size of lock/tcpto at install: 1024 NUL bytes (§2.1, §5.9). */
const TCPTO_SIZE = 1024;

/** The home directory's mode, as hier.c gives /var/qmail. */
const HOME_MODE = 0o755;

/**
 * control/me when none is given: the host name if it is a fully qualified
 * (dotted) host name, else "localhost".
 */
export function defaultMe(hostname: string): string {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name.includes(".") && isValidHostname(name) ? name : "localhost";
}

/** The names init's self-signed certificate is made for: me, localhost and 127.0.0.1. */
export function initCertificateNames(me: string): { commonName: string; altNames: string[] } {
  return { commonName: me, altNames: [me, "localhost", "127.0.0.1"] };
}

/** The self-signed certificate and key init writes to control/servercert.pem, as one PEM text. */
export async function formatInitCertificate(me: string): Promise<string> {
  const { certPem, keyPem } = await createSelfSignedCertificate(initCertificateNames(me));
  return keyPem + certPem;
}

/**
 * The control files qmail's config-fast writes for FQDN `me`: defaultdomain
 * drops the first label when two dots remain, plusdomain keeps the last two
 * labels. locals and rcpthosts also get "localhost" (qmail's `config` adds the
 * local interfaces' names), so the home relays for nobody.
 */
export function formatInitialControls(me: string): Record<string, string> {
  const labels = me.split(".");
  const defaultdomain = labels.length >= 3 ? labels.slice(1).join(".") : me;
  const plusdomain = labels.length >= 3 ? labels.slice(-2).join(".") : me;
  const locals = [...new Set([me, "localhost"])].map((name) => `${name}\n`).join("");
  return {
    me: `${me}\n`,
    defaultdomain: `${defaultdomain}\n`,
    plusdomain: `${plusdomain}\n`,
    locals,
    rcpthosts: locals,
  };
}

/** What each alias .qmail file holds: deliver to ~alias/Maildir/. */
const ALIAS_DELIVERY = "./Maildir/\n";
const ALIAS_FILES = [".qmail-postmaster", ".qmail-mailer-daemon", ".qmail-root"];

/**
 * Creates every missing part of a home. Throws InitError on an invalid `me`,
 * an empty control/me, or an I/O error (naming the path).
 */
export async function initHome(
  home: string,
  options: InitHomeOptions = {},
): Promise<InitHomeResult> {
  const hostname = options.hostname ?? Deno.hostname();
  const me = options.me ?? defaultMe(hostname);
  if (!isValidHostname(me)) {
    throw new InitError(`Invalid host name for control/me: ${JSON.stringify(me)}`, false);
  }
  const created: string[] = [];
  const notes: string[] = [];
  const paths = homePaths(home);
  const relative = (path: string) => path === home ? "." : path.slice(home.length + 1);

  const dir = (path: string, mode: number) => {
    if (makeDirectory(path, mode)) created.push(`${relative(path)}/`);
  };
  const file = (path: string, data: Uint8Array | string, mode: number) => {
    if (createFile(path, data, mode)) created.push(relative(path));
  };

  await makeHomeDirectory(home);
  // The console's password, printed once by whoever called (qmd init, the first qmd start).
  const adminPassword = createAdminPassword(home);

  dir(paths.control, 0o755);
  for (const [name, text] of Object.entries(formatInitialControls(me.toLowerCase()))) {
    file(`${paths.control}/${name}`, text, 0o644);
  }
  if (created.includes("control/me") && options.me === undefined && me === "localhost") {
    notes.push(
      `control/me is localhost because this host's name ${JSON.stringify(hostname)} has no ` +
        `dot; name the host with qmd init --home ${home} --me HOST`,
    );
  }
  const name = readMe(home);
  const serverCert = `${paths.control}/servercert.pem`;
  if (!exists(serverCert)) {
    // For the name in control/me, which may be an operator's own.
    const certificate = await formatInitCertificate(
      isValidHostname(name) ? name : me.toLowerCase(),
    );
    file(serverCert, certificate, 0o600);
  }

  dir(paths.users, 0o755);
  file(`${paths.users}/assign`, ".\n", 0o644);

  dir(paths.alias, 0o755);
  for (const name of ALIAS_FILES) file(`${paths.alias}/${name}`, ALIAS_DELIVERY, 0o644);
  dir(`${paths.alias}/Maildir`, 0o700);
  for (const sub of ["tmp", "new", "cur"]) dir(`${paths.alias}/Maildir/${sub}`, 0o700);

  dir(paths.mail, 0o755);

  // The decision trace holds clients' addresses and envelopes: not for every user.
  dir(paths.log, 0o750);
  dir(paths.trace, 0o750);

  makeQueue(paths.queue, dir, file, (path) => created.push(relative(path)));
  return { created, notes, adminPassword };
}

/** control/me's first line, lower case; InitError when it is empty. */
function readMe(home: string): string {
  const me = readControlLine(home, "me")?.trim().toLowerCase() ?? "";
  if (me === "") {
    throw new InitError(
      `${home}/control/me is empty; qmail needs this host's name there: ` +
        `qmd init --home ${home} --me HOST`,
      false,
    );
  }
  return me;
}

/**
 * The home and any missing parents, each 0755 whatever the umask: a
 * world-writable parent would let anyone replace the home.
 */
async function makeHomeDirectory(home: string): Promise<void> {
  const missing: string[] = [];
  for (let path = home; path !== "" && path !== "/"; path = path.slice(0, path.lastIndexOf("/"))) {
    if (exists(path)) break;
    missing.unshift(path);
  }
  for (const path of missing) {
    try {
      await Deno.mkdir(path, { mode: HOME_MODE });
      await Deno.chmod(path, HOME_MODE);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw ioError("cannot create the directory", path, error);
      }
    }
  }
  if (!Deno.statSync(home).isDirectory) {
    throw new InitError(`${home} exists and is not a directory`, false);
  }
}

type MakeDir = (path: string, mode: number) => void;
type MakeFile = (path: string, data: Uint8Array | string, mode: number) => void;

/** queue/ as hier.c makes it (§2.1), with todo/ and intd/ split as big-todo does (§2.4). */
function makeQueue(
  queue: string,
  dir: MakeDir,
  file: MakeFile,
  fifoCreated: (path: string) => void,
): void {
  // An existing vanilla queue (todo/ without todo/0) must keep its layout:
  // splitting it now would hide the messages already in todo/.
  const todoSplit = !exists(queueDirectory(queue, "todo")) ||
    isDirectory(bucketDirectory(queue, "todo", 0));
  dir(queue, QUEUE_MODE);
  for (const { name, mode, split } of QUEUE_DIRECTORIES) {
    dir(queueDirectory(queue, name), mode);
    if (split === "none" || (split === "big-todo" && !todoSplit)) continue;
    for (let i = 0; i < DEFAULT_SPLIT; i++) dir(bucketDirectory(queue, name, i), mode);
  }
  file(lockFile(queue, "tcpto"), new Uint8Array(TCPTO_SIZE), 0o644);
  file(lockFile(queue, "sendmutex"), new Uint8Array(0), 0o600);
  const trigger = lockFile(queue, "trigger");
  if (!exists(trigger)) {
    makeFifo(trigger, 0o622);
    fifoCreated(trigger);
  }
}

/** fileExists without following links; any error but ENOENT becomes an InitError. */
function exists(path: string): boolean {
  try {
    return fileExists(path, { followLinks: false });
  } catch (error) {
    throw ioError("cannot read", path, error);
  }
}

/** An I/O failure as one sentence naming the path, in qmail's error_str words. */
function ioError(what: string, path: string, error: unknown): InitError {
  return new InitError(`${what} ${path}: ${errorText(error)}`, true, { cause: error });
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** mkdir with an exact mode (chmod after, since the umask trims it). False if it existed. */
function makeDirectory(path: string, mode: number): boolean {
  try {
    Deno.mkdirSync(path, { mode });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      if (!Deno.statSync(path).isDirectory) {
        throw new InitError(`${path} exists and is not a directory`, false);
      }
      return false;
    }
    throw ioError("cannot create the directory", path, error);
  }
  try {
    Deno.chmodSync(path, mode);
  } catch (error) {
    throw ioError("cannot set the mode of", path, error);
  }
  return true;
}

/** Creates a file with O_EXCL and an exact mode. False (file untouched) if it existed. */
function createFile(path: string, data: Uint8Array | string, mode: number): boolean {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    Deno.writeFileSync(path, bytes, { createNew: true, mode });
    Deno.chmodSync(path, mode);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw ioError("cannot create", path, error);
  }
  return true;
}
