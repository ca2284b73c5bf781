/**
 * SMTP transcripts (style.md example 1): small text files under
 * tests/transcripts/, one event a line. This module reads them: the parser
 * (shared with the POP3 transcripts, tests/pop3_transcript.ts), the SMTP
 * setup and the credentials every transcript's users have. The runs are in
 * tests/transcript_run.ts: through the real connection driver over an
 * in-memory connection, and over a loopback socket.
 *
 * ```
 * # why this case matters                      comment (also blank lines)
 * @ rcpthosts example.net .example.org         setup, before any other event
 * S: 220 mx.example.net ESMTP                  the server's next line, exactly
 * S~ ^250 ok \d+ qp \d+$                       the server's next line matches a regex
 * C: MAIL FROM:<a@example.org>                 the client sends this line + CRLF (UTF-8)
 * C! "DATA\r\nbody\n.\r\n"                     the client sends these raw bytes (JSON string,
 *                                              each char 0–255 is one byte)
 * S! closed                                    the server has closed the connection
 * P: 5                                         the server paused 5 s before what follows
 *                                              (tarpits, delays; the pause is recorded,
 *                                              not waited for)
 * Q: a body line                               the last queued message's body, line by line
 * Q! "body\r\n"                                the last queued message's body, exact bytes
 * E: Fa@example.org                            the last queued message's envelope: F sender,
 * E: Tb@example.net                            then T per recipient, all of them, in order
 * R: Received: from unknown (192.0.2.1)        the smtpd Received header, line by line
 * R~ ^  by mx\.example\.net with SMTP; .*$     (R: exact, R~ regex)
 * L~ ^reject: RCPT from [0-9.]+ helo=<>: 553   the session's next `reject:` log line
 *                                              (L: exact, L~ regex; see below)
 * M: remove new/1700000000.1.mx                a Maildir action at this point (POP3 only,
 *                                              tests/pop3_transcript.ts)
 * ```
 *
 * A client event is sent once the server has dealt with everything sent
 * before it, so replies come in the order the events list them; bytes sent
 * after the server closed are lost, as on a socket. At the end the client
 * hangs up, and the server may not have said anything the transcript did not
 * read. When the server sends the reply that starts TLS (STARTTLS), the
 * client starts TLS after reading it.
 *
 * Q lines cover the body only: what the client sent after un-stuffing, without
 * the Received lines the server adds. Consecutive Q:, E: and R:/R~ lines form
 * one group that must match the whole body, envelope or header.
 *
 * L lines check the `reject:` lines smtpd logs for every refusal
 * (appliance/smtp/rejection.ts), without the `smtpd ID: ` prefix, in order.
 * A transcript with any L line must list every reject line the session logs;
 * one without L lines does not look at them. Live runs see the client's real
 * loopback address, so match it with `[0-9.]+` there.
 *
 * Setup (`@ key value`), all optional:
 * - `greeting TEXT` a control/smtpgreeting line (repeat for more lines;
 *   default `mx.example.net`)
 * - `rcpthosts [DOMAIN…]` control/rcpthosts (repeatable; absent = no file)
 * - `badmailfrom [ADDRESS…]` control/badmailfrom
 * - `databytes N` control/databytes
 * - `relayclient VALUE` RELAYCLIENT (a JSON string such as `""`, or raw text)
 * - `localiphost NAME` control/localiphost
 * - `maxrecipients N` control/maxrecipients
 * - `max-line N` control/maxcmdlen
 * - `control NAME [LINE]` a line of any control file (repeatable; `auth/smtp`, `log/smtp_in`…)
 * - `env NAME=VALUE` an environment variable, as tcp.smtp would set it (VALUE raw or JSON)
 * - `user NAME PASSWORD` a mailbox AUTH accepts (the password is also its challenge secret)
 * - `submission` the submission port: AUTH before MAIL
 * - `tls` a server certificate exists (STARTTLS is offered; in memory the
 *   handshake is assumed, over a socket it is real)
 * - `challenge TEXT` / `nonce TEXT` the CRAM challenge and DIGEST-MD5 nonce
 * - `queue-error TEXT` every message fails to commit with this qmail_close
 *   text: in memory the queue refuses it, live a QMAILQUEUE program
 *   (tests/fixtures/qmailqueue/exit_code.sh) exits 82 with it (docs/patches.md seed 001)
 *
 * and, for the in-memory run only (see transcriptRunsOnlyInMemory):
 * - `remote IP [HOST [INFO]]` TCPREMOTEIP/HOST/INFO (default 192.0.2.1, unknown)
 * - `local HOST` TCPLOCALHOST (default mx.example.net)
 * - `localips IP…` this host's addresses for the `[d.d.d.d]` rewrite
 * - `now ISO-DATE` the clock (default 2024-03-05T07:08:09Z)
 *
 * Queued messages get `250 2.6.0 ok TIME qp 4242` in memory, TIME the clock's
 * (`@ now`); write `S~ ^250 2\.6\.0 ok \d+ qp \d+$` so the transcript also
 * holds on a live server.
 */
import { concatBytes } from "../appliance/bytes.ts";
import type { Credentials, VerifyResult } from "../appliance/auth/sasl_server.ts";
import { apopDigest, cramDigest } from "../appliance/auth/cram.ts";
import { computeDigestMd5 } from "../appliance/auth/digest_md5.ts";

export type TranscriptEvent =
  | { kind: "client"; line: number; bytes: Uint8Array }
  | { kind: "server"; line: number; text: string }
  | { kind: "server-match"; line: number; pattern: RegExp }
  | { kind: "closed"; line: number }
  | { kind: "pause"; line: number; seconds: number }
  | { kind: "setup"; line: number; key: string; value: string }
  | { kind: "body-line"; line: number; text: string }
  | { kind: "body"; line: number; bytes: Uint8Array }
  | { kind: "envelope"; line: number; text: string }
  | { kind: "received"; line: number; text: string }
  | { kind: "received-match"; line: number; pattern: RegExp }
  | { kind: "log"; line: number; text: string }
  | { kind: "log-match"; line: number; pattern: RegExp }
  | { kind: "maildir"; line: number; action: MaildirAction; name: string };

/**
 * What happens to a Maildir file behind the POP3 session's back: another
 * client removes it, or it can no longer be unlinked (it turns into a
 * non-empty directory).
 */
export type MaildirAction = "remove" | "undeletable";

/** A transcript that does not parse, or a server that does not follow it. */
export class TranscriptError extends Error {
  constructor(readonly line: number, message: string) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.name = "TranscriptError";
  }
}

const SETUP_KEYS = new Set([
  "control",
  "env",
  "user",
  "tls",
  "submission",
  "challenge",
  "nonce",
  "greeting",
  "rcpthosts",
  "badmailfrom",
  "databytes",
  "relayclient",
  "localiphost",
  "maxrecipients",
  "remote",
  "local",
  "localips",
  "max-line",
  "queue-error",
  "now",
]);

/**
 * Setup a live run cannot give: the client's address and the host's are the
 * socket's, and the clock is real.
 */
const MEMORY_ONLY_KEYS = new Set(["remote", "local", "localips", "now"]);

const encoder = new TextEncoder();

/** Parses a transcript file; throws TranscriptError naming the line. */
export function parseTranscript(text: string): TranscriptEvent[] {
  const events: TranscriptEvent[] = [];
  let seenEvent = false;
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const source = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (source.trim() === "" || source.startsWith("#")) return;
    if (source.startsWith("@")) {
      if (seenEvent) throw new TranscriptError(line, "setup must come before the first event");
      const body = source.slice(1).replace(/^ /, "");
      const space = body.indexOf(" ");
      const key = space < 0 ? body : body.slice(0, space);
      if (!SETUP_KEYS.has(key)) throw new TranscriptError(line, `unknown setup ${key}`);
      events.push({ kind: "setup", line, key, value: space < 0 ? "" : body.slice(space + 1) });
      return;
    }
    seenEvent = true;
    const tag = source.slice(0, 2);
    const value = source.slice(2).replace(/^ /, "");
    switch (tag) {
      case "C:":
        events.push({ kind: "client", line, bytes: concatBytes([encoder.encode(value), CRLF]) });
        return;
      case "C!":
        events.push({ kind: "client", line, bytes: parseRawBytes(value, line) });
        return;
      case "S:":
        events.push({ kind: "server", line, text: value });
        return;
      case "S~":
        events.push({ kind: "server-match", line, pattern: parsePattern(value, line) });
        return;
      case "P:":
        if (!/^\d+$/.test(value)) throw new TranscriptError(line, "P: takes whole seconds");
        events.push({ kind: "pause", line, seconds: Number(value) });
        return;
      case "S!":
        if (value !== "closed") throw new TranscriptError(line, 'S! takes only "closed"');
        events.push({ kind: "closed", line });
        return;
      case "Q:":
        events.push({ kind: "body-line", line, text: value });
        return;
      case "Q!":
        events.push({ kind: "body", line, bytes: parseRawBytes(value, line) });
        return;
      case "E:":
        events.push({ kind: "envelope", line, text: value });
        return;
      case "R:":
        events.push({ kind: "received", line, text: value });
        return;
      case "R~":
        events.push({ kind: "received-match", line, pattern: parsePattern(value, line) });
        return;
      case "L:":
        events.push({ kind: "log", line, text: value });
        return;
      case "L~":
        events.push({ kind: "log-match", line, pattern: parsePattern(value, line) });
        return;
      case "M:": {
        const [action, name, extra] = value.split(" ");
        if ((action !== "remove" && action !== "undeletable") || !name || extra !== undefined) {
          throw new TranscriptError(line, "M: takes remove NAME or undeletable NAME");
        }
        events.push({ kind: "maildir", line, action, name });
        return;
      }
      default:
        throw new TranscriptError(line, `unknown event ${JSON.stringify(tag)}`);
    }
  });
  return events;
}

const CRLF = new Uint8Array([0x0d, 0x0a]);

function parseRawBytes(value: string, line: number): Uint8Array {
  let text: unknown;
  try {
    text = JSON.parse(value);
  } catch {
    throw new TranscriptError(line, "expected a JSON string");
  }
  if (typeof text !== "string") throw new TranscriptError(line, "expected a JSON string");
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255) throw new TranscriptError(line, "raw bytes must be chars 0-255");
    bytes[i] = code;
  }
  return bytes;
}

function parsePattern(value: string, line: number): RegExp {
  try {
    return new RegExp(value);
  } catch (error) {
    throw new TranscriptError(line, `bad regex: ${(error as Error).message}`);
  }
}

/** The `@` lines, resolved with their defaults. */
export interface TranscriptSetup {
  /** Control files to write: name → lines (control/me is mx.example.net unless given). */
  controls: Record<string, string[]>;
  /** The environment over which the policy is resolved (RELAYCLIENT, TARPITCOUNT, ...). */
  env: Record<string, string>;
  /** Mailboxes AUTH accepts: user → password (also the challenge secret). */
  users: Record<string, string>;
  /** A server certificate exists: STARTTLS can be offered. */
  tls: boolean;
  /** The submission port: AUTH before MAIL. */
  submission: boolean;
  /** The CRAM challenge and DIGEST-MD5 nonce the server uses. */
  challenge: string;
  nonce: string;
  remoteIp: string;
  remoteHost: string;
  remoteInfo?: string;
  localHost: string;
  localIps: string[];
  queueError?: string;
  now: Date;
}

export function parseTranscriptSetup(events: TranscriptEvent[]): TranscriptSetup {
  const setup: TranscriptSetup = {
    controls: { me: ["mx.example.net"] },
    env: {},
    users: {},
    tls: false,
    submission: false,
    challenge: "<1896.697170952@mx.example.net>",
    nonce: "OA6MG9tEQGm2hh",
    remoteIp: "192.0.2.1",
    remoteHost: "unknown",
    localHost: "mx.example.net",
    localIps: [],
    now: new Date("2024-03-05T07:08:09Z"),
  };
  const add = (name: string, lines: string[]) => {
    setup.controls[name] = [...(setup.controls[name] ?? []), ...lines];
  };
  for (const event of events) {
    if (event.kind !== "setup") continue;
    const { key, value, line } = event;
    const words = value.split(/\s+/).filter((word) => word !== "");
    const number = () => {
      if (!/^\d+$/.test(value)) throw new TranscriptError(line, `${key} needs a number`);
      return value;
    };
    switch (key) {
      case "greeting":
        add("smtpgreeting", [value]);
        break;
      case "rcpthosts":
        add("rcpthosts", words);
        break;
      case "badmailfrom":
        add("badmailfrom", words);
        break;
      case "databytes":
        setup.controls.databytes = [number()];
        break;
      case "relayclient":
        setup.env.RELAYCLIENT = value.startsWith('"') ? JSON.parse(value) : value;
        break;
      case "localiphost":
        setup.controls.localiphost = [value];
        break;
      case "maxrecipients":
        setup.controls.maxrecipients = [number()];
        break;
      case "control": {
        const [name, ...rest] = words;
        if (name === undefined) throw new TranscriptError(line, "control takes NAME [LINE]");
        add(name, rest.length === 0 ? [] : [value.slice(value.indexOf(name) + name.length + 1)]);
        break;
      }
      case "env": {
        const equals = value.indexOf("=");
        if (equals <= 0) throw new TranscriptError(line, "env takes NAME=VALUE");
        const raw = value.slice(equals + 1);
        setup.env[value.slice(0, equals)] = raw.startsWith('"') ? JSON.parse(raw) : raw;
        break;
      }
      case "user":
        if (words.length !== 2) throw new TranscriptError(line, "user takes NAME PASSWORD");
        setup.users[words[0]] = words[1];
        break;
      case "tls":
        setup.tls = true;
        break;
      case "submission":
        setup.submission = true;
        break;
      case "challenge":
        setup.challenge = value;
        break;
      case "nonce":
        setup.nonce = value;
        break;
      case "remote":
        if (words.length < 1 || words.length > 3) {
          throw new TranscriptError(line, "remote takes IP [HOST [INFO]]");
        }
        setup.remoteIp = words[0];
        setup.remoteHost = words[1] ?? "unknown";
        setup.remoteInfo = words[2];
        break;
      case "local":
        setup.localHost = value;
        break;
      case "localips":
        setup.localIps.push(...words);
        break;
      case "max-line":
        setup.controls.maxcmdlen = [number()];
        break;
      case "queue-error":
        setup.queueError = value;
        break;
      case "now":
        setup.now = new Date(value);
        if (Number.isNaN(setup.now.getTime())) throw new TranscriptError(line, "bad date");
        break;
    }
  }
  return setup;
}

/** Whether the transcript uses setup only the in-memory run can give. */
export function transcriptRunsOnlyInMemory(events: TranscriptEvent[]): boolean {
  return events.some((event) => event.kind === "setup" && MEMORY_ONLY_KEYS.has(event.key));
}

/** Writes the setup's control files into HOME/control. */
export function writeTranscriptControls(home: string, setup: TranscriptSetup): void {
  Deno.mkdirSync(`${home}/control/auth`, { recursive: true });
  Deno.mkdirSync(`${home}/control/log`, { recursive: true });
  for (const [name, lines] of Object.entries(setup.controls)) {
    Deno.writeTextFileSync(`${home}/control/${name}`, lines.map((l) => l + "\n").join(""));
  }
}

/** Checks credentials against the setup's users (password = challenge secret), as the auth role does. */
export function verifyTranscriptCredentials(
  users: Record<string, string>,
  credentials: Credentials,
): VerifyResult {
  const secret = users[credentials.user];
  if (secret === undefined) return { ok: false, temporary: false };
  const accepted: VerifyResult = { ok: true, user: credentials.user };
  switch (credentials.kind) {
    case "password":
      return credentials.password === secret ? accepted : { ok: false, temporary: false };
    case "cram":
      return cramDigest(credentials.mechanism, secret, credentials.challenge) ===
          credentials.response
        ? accepted
        : { ok: false, temporary: false };
    case "digest-md5": {
      const response = credentials.response;
      const expected = computeDigestMd5({
        username: response.username,
        realm: response.realm,
        password: secret,
        nonce: response.nonce,
        cnonce: response.cnonce,
        nc: response.nc,
        qop: response.qop,
        digestUri: response.digestUri,
        authzid: response.authzid,
      });
      return expected.response === response.response
        ? { ...accepted, rspauth: expected.rspauth }
        : { ok: false, temporary: false };
    }
    case "apop":
      return apopDigest(credentials.timestamp, secret) === credentials.digest.toLowerCase()
        ? accepted
        : { ok: false, temporary: false };
  }
}
