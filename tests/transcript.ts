/**
 * SMTP transcripts (style.md example 1): small text files under
 * tests/transcripts/, one event a line, run here against the pure session and
 * by the live tests against a real server over loopback.
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
 * Q: a body line                               the last queued message's body, line by line
 * Q! "body\r\n"                                the last queued message's body, exact bytes
 * E: Fa@example.org                            the last queued message's envelope: F sender,
 * E: Tb@example.net                            then T per recipient, all of them, in order
 * R: Received: from unknown (192.0.2.1)        the smtpd Received header, line by line
 * R~ ^  by mx\.example\.net with SMTP; .*$     (R: exact, R~ regex)
 * L~ ^reject: RCPT from [0-9.]+ helo=<>: 553   the session's next `reject:` log line
 *                                              (L: exact, L~ regex; see below)
 * ```
 *
 * Q lines cover the body only: what the client sent after un-stuffing, without
 * the Received lines the server adds. Consecutive Q:, E: and R:/R~ lines form
 * one group that must match the whole body, envelope or header.
 *
 * P: 5                                        the server paused 5 s before its next line
 *                                              (tarpits, delays; pure runner only)
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
 *
 * and, for the pure session only (see transcriptNeedsPureSession):
 * - `remote IP [HOST [INFO]]` TCPREMOTEIP/HOST/INFO (default 192.0.2.1, unknown)
 * - `local HOST` TCPLOCALHOST (default mx.example.net)
 * - `localips IP…` this host's addresses for the `[d.d.d.d]` rewrite
 * - `queue-error TEXT` every DATA fails with this qmail_close text
 * - `now ISO-DATE` the clock (default 2024-03-05T07:08:09Z)
 * - `tls` a server certificate exists (STARTTLS is offered; the handshake is assumed)
 * - `challenge TEXT` / `nonce TEXT` the CRAM challenge and DIGEST-MD5 nonce
 *
 * Queued messages get `250 2.6.0 ok 1700000000 qp 4242` from the pure runner; write
 * `S~ ^250 2\.6\.0 ok \d+ qp \d+$` so the transcript also holds on a live server.
 */
import { bytesToString, concatBytes } from "../appliance/bytes.ts";
import { DataReader, rejectedDataOutcome } from "../appliance/smtp/data.ts";
import {
  type DataOutcome,
  type SmtpEffect,
  SmtpSession,
  type SmtpSessionOptions,
  type SmtpStep,
} from "../appliance/smtp/session.ts";
import { loadSmtpdControls, resolveSmtpdPolicy, SMTPD_DEFAULTS } from "../config/smtpd.ts";
import { buildSessionOptions } from "../appliance/net/smtp_options.ts";
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
  | { kind: "log-match"; line: number; pattern: RegExp };

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

/** Setup keys a live server cannot be given through control files and the environment. */
const PURE_ONLY_KEYS = new Set([
  "remote",
  "local",
  "localips",
  "queue-error",
  "now",
  "tls",
  "challenge",
  "nonce",
]);

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

/**
 * Whether the transcript uses setup only the pure runner can provide, or
 * pauses (`P:`) a live run would have to sit through.
 */
export function transcriptNeedsPureSession(events: TranscriptEvent[]): boolean {
  return events.some((event) =>
    (event.kind === "setup" && PURE_ONLY_KEYS.has(event.key)) || event.kind === "pause"
  );
}

/** Writes the setup's control files into HOME/control. */
export function writeTranscriptControls(home: string, setup: TranscriptSetup): void {
  Deno.mkdirSync(`${home}/control/auth`, { recursive: true });
  Deno.mkdirSync(`${home}/control/log`, { recursive: true });
  for (const [name, lines] of Object.entries(setup.controls)) {
    Deno.writeTextFileSync(`${home}/control/${name}`, lines.map((l) => l + "\n").join(""));
  }
}

/** Session options for a setup, through the real control loader and policy, as a role builds them. */
export function sessionOptionsForSetup(setup: TranscriptSetup): SmtpSessionOptions {
  const home = Deno.makeTempDirSync({ prefix: "qmd-transcript-" });
  try {
    writeTranscriptControls(home, setup);
    const controls = loadSmtpdControls(home);
    const policy = resolveSmtpdPolicy(controls, setup.env);
    const options = buildSessionOptions(controls, null, policy, {
      remoteIp: setup.remoteIp,
      remoteHost: setup.remoteHost,
      remoteInfo: setup.remoteInfo,
      localHost: setup.localHost,
    }, {
      tlsAvailable: setup.tls,
      tlsActive: policy.smtps,
      authAvailable: Object.keys(setup.users).length > 0,
      authRequired: setup.submission,
      newChallenge: () => ({ challenge: setup.challenge, nonce: setup.nonce }),
      nowMs: setup.now.getTime(),
    });
    return { ...options, localIps: setup.localIps };
  } finally {
    Deno.removeSync(home, { recursive: true });
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

/** A message the pure runner "queued". */
export interface QueuedMessage {
  sender: Uint8Array;
  recipients: Uint8Array[];
  received: string;
  body: Uint8Array;
}

/** The pure run's record, for tests that want to look further. */
export interface TranscriptRun {
  queued: QueuedMessage[];
  closed: boolean;
  /** Effects the session asked for, in order (log effects included). */
  effects: SmtpEffect[];
}

export const FAKE_QUEUE_TIME = 1700000000;
export const FAKE_QUEUE_QP = "4242";

/** How a pause shows in a pure runner's output queue. */
export const PAUSE = "\u0000pause ";

/**
 * Drives SmtpSession and DataReader exactly as the connection driver does (a
 * line reader with a length limit that discards over-long lines to their LF,
 * the DATA byte machine after a `data` effect, pipelined bytes handed back,
 * buffered input dropped at STARTTLS, AUTH checked against the setup's users)
 * and checks every expectation. Throws TranscriptError at the first mismatch.
 */
export function runTranscriptAgainstSession(events: TranscriptEvent[]): TranscriptRun {
  const setup = parseTranscriptSetup(events);
  const options = sessionOptionsForSetup(setup);
  const maxLineLength = Number(setup.controls.maxcmdlen?.[0] ?? SMTPD_DEFAULTS.maxCmdLen);
  const session = new SmtpSession(options);
  const output: string[] = [];
  const run: TranscriptRun = { queued: [], closed: false, effects: [] };
  /** Reject log lines not yet checked by an L event. */
  const rejectLines: string[] = [];
  let input: Uint8Array = new Uint8Array(0);
  let discarding = false;
  let data: {
    reader: DataReader;
    sender: Uint8Array;
    recipients: Uint8Array[];
    received: string;
    body: Uint8Array[];
  } | undefined;

  const apply = (result: SmtpStep) => {
    if (result.delay > 0) output.push(`${PAUSE}${result.delay}`);
    output.push(...result.replies);
    if (result.close) {
      run.closed = true;
      input = new Uint8Array(0);
    }
    run.effects.push(...result.effects);
    for (const effect of result.effects) {
      if (effect.kind === "log" && effect.event === "reject") {
        rejectLines.push(effect.text);
      } else if (effect.kind === "data") {
        data = {
          reader: new DataReader({ databytes: effect.databytes, maxHops: effect.maxHops }),
          sender: effect.sender,
          recipients: effect.recipients,
          received: effect.received,
          body: [],
        };
      } else if (effect.kind === "starttls") {
        // The handshake "succeeds"; what the client pipelined after STARTTLS is dropped.
        input = new Uint8Array(0);
        discarding = false;
        apply(session.tlsStarted());
      } else if (effect.kind === "auth") {
        const result = verifyTranscriptCredentials(setup.users, effect.credentials);
        apply(session.authVerified(result, result.ok ? 0 : 1));
      }
    }
  };

  const finishData = (current: NonNullable<typeof data>) => {
    let outcome: DataOutcome | null = rejectedDataOutcome(current.reader);
    if (outcome === null && setup.queueError !== undefined) {
      outcome = { kind: "queue-error", text: setup.queueError };
    }
    if (outcome === null) {
      run.queued.push({
        sender: current.sender,
        recipients: current.recipients,
        received: current.received,
        body: concatBytes(current.body),
      });
      outcome = { kind: "queued", time: FAKE_QUEUE_TIME, qp: FAKE_QUEUE_QP };
    }
    data = undefined;
    apply(session.dataFinished(outcome));
  };

  const pump = () => {
    while (!run.closed && input.length > 0) {
      if (data !== undefined) {
        const current = data;
        const chunk = current.reader.push(input);
        input = new Uint8Array(0);
        current.body.push(...chunk.body.map((piece) => piece.slice()));
        if (!chunk.done) return;
        input = chunk.rest ?? new Uint8Array(0);
        finishData(current);
        continue;
      }
      const lf = input.indexOf(0x0a);
      if (lf < 0) {
        if (input.length > maxLineLength) {
          discarding = true;
          input = new Uint8Array(0);
        }
        return;
      }
      const line = input.subarray(0, lf);
      input = input.subarray(lf + 1);
      if (discarding || line.length > maxLineLength) {
        discarding = false;
        apply(session.lineTooLong());
      } else {
        apply(session.receiveLine(line, setup.now));
      }
    }
  };

  apply(session.greet());
  const body = events.filter((event) => event.kind !== "setup");
  for (let i = 0; i < body.length; i++) {
    const event = body[i];
    switch (event.kind) {
      case "client":
        // Bytes sent after the server closed are lost, as on a socket.
        if (!run.closed) {
          input = concatBytes([input, event.bytes]);
          pump();
        }
        break;
      case "pause":
      case "server":
      case "server-match":
      case "closed":
        expectServerEvent(event, output, run.closed);
        break;
      case "log":
      case "log-match":
        expectLogEvent(event, rejectLines);
        break;
      default: {
        let end = i;
        while (end + 1 < body.length && sameGroup(body[end + 1].kind, event.kind)) end++;
        checkQueued(body.slice(i, end + 1), run.queued.at(-1));
        i = end;
      }
    }
  }
  expectNoMoreOutput(output, body.at(-1)?.line ?? 0);
  if (checksLogs(events)) expectNoMoreLogs(rejectLines, body.at(-1)?.line ?? 0);
  return run;
}

/** Whether a transcript lists its reject log lines (then it must list all of them). */
export function checksLogs(events: TranscriptEvent[]): boolean {
  return events.some((event) => event.kind === "log" || event.kind === "log-match");
}

/** Checks the next reject log line against an L event, taking it from `logs`. */
export function expectLogEvent(
  event: TranscriptEvent & { kind: "log" | "log-match" },
  logs: string[],
): void {
  const actual = logs.shift();
  if (actual === undefined) {
    throw new TranscriptError(event.line, "expected a reject log line, none was logged");
  }
  const ok = event.kind === "log" ? actual === event.text : event.pattern.test(actual);
  if (!ok) {
    const expected = event.kind === "log" ? JSON.stringify(event.text) : String(event.pattern);
    throw new TranscriptError(
      event.line,
      `expected log ${expected}, got ${JSON.stringify(actual)}`,
    );
  }
}

/** Throws when the session logged reject lines the transcript did not list. */
export function expectNoMoreLogs(logs: string[], line: number): void {
  if (logs.length > 0) {
    throw new TranscriptError(line, `reject lines nobody expected: ${JSON.stringify(logs)}`);
  }
}

/**
 * Checks one server-side event (a pause, a line, the close) against the
 * output a pure runner collected, taking what it consumes; throws
 * TranscriptError on a mismatch. Shared by the SMTP and POP3 runners.
 */
export function expectServerEvent(
  event: TranscriptEvent & { kind: "pause" | "server" | "server-match" | "closed" },
  output: string[],
  closed: boolean,
): void {
  if (event.kind === "closed") {
    if (!closed) throw new TranscriptError(event.line, "expected the server to close");
    if (output.length > 0) {
      throw new TranscriptError(event.line, `unread server lines: ${JSON.stringify(output)}`);
    }
    return;
  }
  const actual = output.shift();
  if (event.kind === "pause") {
    if (actual !== `${PAUSE}${event.seconds}`) {
      throw new TranscriptError(
        event.line,
        `expected a pause of ${event.seconds} s, got ${JSON.stringify(actual ?? "nothing")}`,
      );
    }
    return;
  }
  if (actual === undefined) {
    throw new TranscriptError(
      event.line,
      `expected a server line, the server is waiting${closed ? " (closed)" : ""}`,
    );
  }
  const ok = event.kind === "server" ? actual === event.text : event.pattern.test(actual);
  if (!ok) {
    const expected = event.kind === "server" ? JSON.stringify(event.text) : String(event.pattern);
    throw new TranscriptError(event.line, `expected ${expected}, got ${JSON.stringify(actual)}`);
  }
}

/** Throws when the server said more than the transcript expected. */
export function expectNoMoreOutput(output: string[], line: number): void {
  if (output.length > 0) {
    throw new TranscriptError(
      line,
      `the server sent lines nobody expected: ${JSON.stringify(output)}`,
    );
  }
}

type GroupKind = TranscriptEvent["kind"];

function groupOf(kind: GroupKind): string {
  if (kind === "body-line" || kind === "body") return "body";
  if (kind === "received" || kind === "received-match") return "received";
  return kind;
}

function sameGroup(a: GroupKind, b: GroupKind): boolean {
  return groupOf(a) === groupOf(b);
}

export function checkQueued(group: TranscriptEvent[], message: QueuedMessage | undefined): void {
  const first = group[0];
  if (message === undefined) throw new TranscriptError(first.line, "no message was queued");
  const fail = (line: number, expected: string, actual: string) => {
    throw new TranscriptError(line, `expected ${expected}, got ${actual}`);
  };
  switch (groupOf(first.kind)) {
    case "body": {
      const whole = group.find((event) => event.kind === "body");
      if (whole !== undefined) {
        if (group.length !== 1) throw new TranscriptError(first.line, "Q! cannot be mixed with Q:");
        if (bytesToString(message.body) !== bytesToString(whole.bytes)) {
          fail(
            whole.line,
            JSON.stringify(bytesToString(whole.bytes)),
            JSON.stringify(bytesToString(message.body)),
          );
        }
        return;
      }
      const lines = splitLines(bytesToString(message.body));
      const expected = group.map((event) => event.kind === "body-line" ? event.text : "");
      compareLines(
        group,
        expected.map((text) => (actual) => actual === stringOf(text)),
        lines,
        "body",
      );
      return;
    }
    case "envelope": {
      const actual = [
        "F" + bytesToString(message.sender),
        ...message.recipients.map((recipient) => "T" + bytesToString(recipient)),
      ];
      const expected = group.map((event) => event.kind === "envelope" ? stringOf(event.text) : "");
      compareLines(group, expected.map((text) => (line) => line === text), actual, "envelope");
      return;
    }
    case "received": {
      const lines = splitLines(message.received);
      const matchers = group.map((event) =>
        event.kind === "received-match"
          ? (line: string) => event.pattern.test(line)
          : (line: string) => event.kind === "received" && line === event.text
      );
      compareLines(group, matchers, lines, "Received header");
      return;
    }
  }
}

/** A transcript's text as the bytes a UTF-8 client would send, one char per byte. */
function stringOf(text: string): string {
  return bytesToString(encoder.encode(text));
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function compareLines(
  group: TranscriptEvent[],
  matchers: ((line: string) => boolean)[],
  actual: string[],
  what: string,
): void {
  for (let i = 0; i < Math.max(group.length, actual.length); i++) {
    const event = group[Math.min(i, group.length - 1)];
    if (i >= group.length) {
      throw new TranscriptError(
        event.line,
        `${what} has more lines: ${JSON.stringify(actual.slice(i))}`,
      );
    }
    if (i >= actual.length) {
      throw new TranscriptError(event.line, `${what} has only ${actual.length} lines`);
    }
    if (!matchers[i](actual[i])) {
      throw new TranscriptError(
        event.line,
        `${what} line ${i + 1} is ${JSON.stringify(actual[i])}`,
      );
    }
  }
}
