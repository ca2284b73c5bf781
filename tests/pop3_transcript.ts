/**
 * POP3 transcripts: text files under tests/pop3_transcripts/ in the SMTP
 * transcript format (tests/transcript.ts: `#` comments, `C:` / `C!` client
 * lines and raw bytes, `S:` / `S~` server lines exact or by regex, `S! closed`,
 * `P: N` a pause of N seconds before the next server line), run through the
 * real POP3 connection driver against a real Maildir (tests/pop3_transcript_run.ts).
 * `S:` keeps trailing spaces, so qmail's `+OK ` is written `S: +OK ` with its
 * space. The SMTP-only events (Q, E, R, L) are refused. One more event:
 *
 * - `M: remove NAME` the Maildir file NAME (`new/X`, `cur/X:2,S`) vanishes
 *   here, as when another client deleted it after this session's scan;
 * - `M: undeletable NAME` NAME can no longer be unlinked from here on (it
 *   becomes a non-empty directory: QUIT's unlink fails).
 *
 * Setup (`@ key value`), before any event, all optional:
 * - `user NAME PASSWORD` a mailbox login accepts; the password is also its
 *   APOP and CRAM/DIGEST secret (repeatable; default none). Every user has
 *   the same home, so the same Maildir.
 * - `message NAME TEXT` one Maildir file, NAME as `new/X` or `cur/X:2,S`,
 *   TEXT its content as a JSON string (LF line ends, as delivered); listed in
 *   the order given (each a second older than the next; repeatable; default
 *   an empty Maildir). Its size is TEXT's length in bytes, its UIDL X up to
 *   the first `:`.
 * - `plaintext` control/pop3plaintext: plain-text passwords before TLS. The
 *   role also allows them from loopback; here only the control file counts,
 *   so a live run over loopback sees what a remote client sees.
 * - `tls` a certificate exists: STLS offered (in memory the handshake is
 *   assumed; over a socket it is real)
 * - `tls-active` the connection is TLS from the first byte (POP3S)
 * - `mechanisms MASK` / `mechanisms-tls MASK` control/auth/pop3 and
 *   auth/spop3 (defaults 60 and 63, docs/patches.md seed 000)
 * - `timestamp TEXT` the APOP banner (default `<4242.1700000000@mx.example.net>`)
 * - `hostname NAME` control/me (default `mx.example.net`)
 * - `challenge TEXT` / `nonce TEXT` the CRAM challenge and DIGEST-MD5 nonce
 *   (defaults as tests/transcript.ts)
 * - `fail-delay N` the session's base pause before a failed login's reply
 *   (default 0: the role's 1 s per recent failure, at most 5 s)
 * - `blocked` the client's address has reached control/authfaillimit
 * - `in-use` another session holds the Maildir's lock
 * - `scan-error` Maildir/new is not a directory: the scan fails
 * - `max-line N` the driver's line limit in bytes before the LF (default
 *   1024, as net/pop3_options.ts)
 *
 * Failed logins count in a fresh failed-login table (the limits are
 * control/authfaillimit's defaults) for every client, loopback included.
 */
import { parseTranscript, TranscriptError, type TranscriptEvent } from "./transcript.ts";
import { LOCK_FILE } from "../appliance/pop3/maildir_box.ts";
import type { AuthFailures } from "../appliance/net/auth_failures.ts";
import type { AuthFailurePolicy } from "../config/auth_limits.ts";

export { TranscriptError };

/** One Maildir file of the setup. */
export interface SetupMessage {
  name: string;
  text: string;
}

/** The `@` lines, resolved with their defaults. */
export interface Pop3TranscriptSetup {
  users: Record<string, string>;
  messages: SetupMessage[];
  plaintext: boolean;
  tls: boolean;
  tlsActive: boolean;
  mechanismsMask: number;
  mechanismsTlsMask: number;
  timestamp: string;
  hostname: string;
  challenge: string;
  nonce: string;
  failDelay: number;
  blocked: boolean;
  inUse: boolean;
  scanError: boolean;
  maxLine: number;
}

/** A parsed POP3 transcript: its setup and its events (no setup among them). */
export interface Pop3Transcript {
  setup: Pop3TranscriptSetup;
  events: TranscriptEvent[];
}

const POP3_EVENTS = new Set(["client", "server", "server-match", "closed", "pause", "maildir"]);

/** The Maildir's files are this old and older (2023-11-14), so every scan lists them. */
const FIRST_MTIME = 1700000000;

function defaultSetup(): Pop3TranscriptSetup {
  return {
    users: {},
    messages: [],
    plaintext: false,
    tls: false,
    tlsActive: false,
    mechanismsMask: 60,
    mechanismsTlsMask: 63,
    timestamp: "<4242.1700000000@mx.example.net>",
    hostname: "mx.example.net",
    challenge: "<1896.697170952@mx.example.net>",
    nonce: "OA6MG9tEQGm2hh",
    failDelay: 0,
    blocked: false,
    inUse: false,
    scanError: false,
    maxLine: 1024,
  };
}

function parseText(value: string, line: number): string {
  let text: unknown;
  try {
    text = JSON.parse(value);
  } catch {
    throw new TranscriptError(line, "message text must be a JSON string");
  }
  if (typeof text !== "string") {
    throw new TranscriptError(line, "message text must be a JSON string");
  }
  return text;
}

function applySetup(setup: Pop3TranscriptSetup, key: string, value: string, line: number): void {
  const words = value.split(/\s+/).filter((word) => word !== "");
  const number = () => {
    if (!/^\d+$/.test(value)) throw new TranscriptError(line, `${key} needs a number`);
    return Number(value);
  };
  const flag = () => {
    if (value !== "") throw new TranscriptError(line, `${key} takes no value`);
    return true;
  };
  switch (key) {
    case "user":
      if (words.length !== 2) throw new TranscriptError(line, "user takes NAME PASSWORD");
      setup.users[words[0]] = words[1];
      return;
    case "message": {
      const space = value.indexOf(" ");
      const name = space < 0 ? value : value.slice(0, space);
      if (space < 0 || !/^(new|cur)\/[^/.][^/]*$/.test(name)) {
        throw new TranscriptError(line, "message takes new/NAME or cur/NAME and a JSON string");
      }
      setup.messages.push({ name, text: parseText(value.slice(space + 1), line) });
      return;
    }
    case "plaintext":
      setup.plaintext = flag();
      return;
    case "tls":
      setup.tls = flag();
      return;
    case "tls-active":
      setup.tlsActive = flag();
      return;
    case "mechanisms":
      setup.mechanismsMask = number();
      return;
    case "mechanisms-tls":
      setup.mechanismsTlsMask = number();
      return;
    case "timestamp":
      setup.timestamp = value;
      return;
    case "hostname":
      setup.hostname = value;
      return;
    case "challenge":
      setup.challenge = value;
      return;
    case "nonce":
      setup.nonce = value;
      return;
    case "fail-delay":
      setup.failDelay = number();
      return;
    case "blocked":
      setup.blocked = flag();
      return;
    case "in-use":
      setup.inUse = flag();
      return;
    case "scan-error":
      setup.scanError = flag();
      return;
    case "max-line":
      setup.maxLine = number();
      return;
    default:
      throw new TranscriptError(line, `unknown setup ${key}`);
  }
}

/**
 * Parses a POP3 transcript: the `@` lines here, every other line with the
 * SMTP transcript parser (line numbers kept). Throws TranscriptError.
 */
export function parsePop3Transcript(text: string): Pop3Transcript {
  const setup = defaultSetup();
  const rest: string[] = [];
  let seenEvent = false;
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const source = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!source.startsWith("@")) {
      if (source.trim() !== "" && !source.startsWith("#")) seenEvent = true;
      rest.push(raw);
      return;
    }
    if (seenEvent) throw new TranscriptError(line, "setup must come before the first event");
    const body = source.slice(1).replace(/^ /, "");
    const space = body.indexOf(" ");
    applySetup(
      setup,
      space < 0 ? body : body.slice(0, space),
      space < 0 ? "" : body.slice(space + 1),
      line,
    );
    rest.push("");
  });
  const events = parseTranscript(rest.join("\n"));
  for (const event of events) {
    if (!POP3_EVENTS.has(event.kind)) {
      throw new TranscriptError(event.line, "not a POP3 transcript event");
    }
  }
  return { setup, events };
}

/** The control files the setup stands for, written into HOME/control. */
export function writePop3Controls(home: string, setup: Pop3TranscriptSetup): void {
  Deno.mkdirSync(`${home}/control/auth`, { recursive: true });
  const write = (name: string, value: string | number) =>
    Deno.writeTextFileSync(`${home}/control/${name}`, `${value}\n`);
  write("me", setup.hostname);
  write("auth/pop3", setup.mechanismsMask);
  write("auth/spop3", setup.mechanismsTlsMask);
  write("pop3plaintext", setup.plaintext ? 1 : 0);
}

/**
 * Writes the setup's Maildir: tmp/, new/ and cur/ with its messages, each a
 * second older than the next so the scan lists them in the setup's order.
 */
export function writeMaildir(maildir: string, setup: Pop3TranscriptSetup): void {
  for (const sub of ["tmp", "new", "cur"]) Deno.mkdirSync(`${maildir}/${sub}`, { recursive: true });
  setup.messages.forEach((message, index) => {
    const path = `${maildir}/${message.name}`;
    Deno.writeTextFileSync(path, message.text);
    const mtime = FIRST_MTIME + index;
    Deno.utimeSync(path, mtime, mtime);
  });
  if (setup.scanError) {
    Deno.removeSync(`${maildir}/new`, { recursive: true });
    Deno.writeTextFileSync(`${maildir}/new`, "not a directory\n");
  }
}

/** Holds the Maildir's lock as another session would (`@ in-use`); close() releases it. */
export function lockMaildir(maildir: string): Deno.FsFile {
  const file = Deno.openSync(`${maildir}/${LOCK_FILE}`, { read: true, write: true, create: true });
  file.lockSync(true);
  return file;
}

/** Fails logins from `ip` until the address reaches control/authfaillimit (`@ blocked`). */
export function blockAddress(table: AuthFailures, ip: string, limits: AuthFailurePolicy): void {
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < limits.ipLimit; i++) {
    const attempt = { ip, account: `guess${i}` };
    table.reserve(attempt, now, limits);
    table.settle(attempt, true, now, limits);
  }
}

/** Does an `M:` line's action in the Maildir. */
export function changeMaildir(maildir: string, event: TranscriptEvent & { kind: "maildir" }): void {
  const path = `${maildir}/${event.name}`;
  Deno.removeSync(path);
  if (event.action === "undeletable") {
    Deno.mkdirSync(path);
    Deno.writeTextFileSync(`${path}/keep`, "");
  }
}

/** Every file left in the Maildir (new/ and cur/), sorted, for tests that look after a run. */
export function listMaildir(maildir: string): string[] {
  const names: string[] = [];
  for (const sub of ["new", "cur"]) {
    try {
      for (const entry of Deno.readDirSync(`${maildir}/${sub}`)) names.push(`${sub}/${entry.name}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
  }
  return names.sort();
}
