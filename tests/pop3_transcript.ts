/**
 * POP3 transcripts: text files under tests/pop3_transcripts/ in the SMTP
 * transcript format (tests/transcript.ts: `#` comments, `C:` / `C!` client
 * lines and raw bytes, `S:` / `S~` server lines exact or by regex, `S! closed`,
 * `P: N` a pause of N seconds before the next server line), run here against
 * the pure Pop3Session. `S:` keeps trailing spaces, so qmail's `+OK ` is
 * written `S: +OK ` with its space. The SMTP-only events (Q, E, R) are refused.
 *
 * Setup (`@ key value`), before any event, all optional:
 * - `user NAME PASSWORD` a mailbox login accepts; the password is also its
 *   APOP and CRAM/DIGEST secret (repeatable; default none)
 * - `message NAME SIZE` one Maildir message in listing order, NAME as
 *   `new/X` or `cur/X:2,S`; its UIDL is X up to the first `:` (repeatable;
 *   default an empty mailbox). Every user sees the same messages.
 * - `gone NAME` that message vanished after the scan: RETR/TOP on it fails
 * - `plaintext` plain-text passwords allowed before TLS (the role's decision
 *   for loopback or control/pop3plaintext; default not allowed)
 * - `tls` a certificate exists: STLS offered (the handshake is assumed to work)
 * - `tls-active` the connection is already TLS (POP3S)
 * - `mechanisms MASK` / `mechanisms-tls MASK` control/auth/pop3 and
 *   auth/spop3 (defaults 60 and 63, seed 000)
 * - `timestamp TEXT` the APOP banner (default `<4242.1700000000@mx.example.net>`)
 * - `hostname NAME` control/me (default `mx.example.net`)
 * - `challenge TEXT` / `nonce TEXT` the CRAM challenge and DIGEST-MD5 nonce
 *   (defaults as tests/transcript.ts)
 * - `fail-delay N` seconds before a failed login's reply (default 0)
 * - `blocked` every failed login reaches the lockout limit
 * - `in-use` the Maildir is locked by another session
 * - `scan-error` the Maildir cannot be scanned
 * - `commit-error TEXT` QUIT's commit fails with this text
 * - `max-line N` the reader's line limit in bytes without CRLF (default 4096)
 *
 * The fakes: credentials are checked as verifyTranscriptCredentials does for
 * SMTP (failures count 1 each); the mailbox opens with the `@ message` list;
 * a retrieval writes one line, the message's NAME for RETR or `NAME top L`
 * for TOP with L lines, then `.` (the byte framing is MaildirBox's, tested
 * there); a commit succeeds unless `commit-error`.
 */
import {
  expectNoMoreOutput,
  expectServerEvent,
  parseTranscript,
  PAUSE,
  TranscriptError,
  type TranscriptEvent,
  verifyTranscriptCredentials,
} from "./transcript.ts";
import {
  type Pop3Effect,
  type Pop3Message,
  Pop3Session,
  type Pop3SessionOptions,
  type Pop3Step,
} from "../appliance/pop3/session.ts";
import { mechanismsFromMask } from "../appliance/auth/mechanisms.ts";
import { concatBytes } from "../appliance/bytes.ts";

export { TranscriptError };

/** The `@` lines, resolved with their defaults. */
export interface Pop3TranscriptSetup {
  users: Record<string, string>;
  messages: Pop3Message[];
  gone: Set<string>;
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
  commitError?: string;
  maxLine: number;
}

/** A parsed POP3 transcript: its setup and its events (no setup among them). */
export interface Pop3Transcript {
  setup: Pop3TranscriptSetup;
  events: TranscriptEvent[];
}

const POP3_EVENTS = new Set(["client", "server", "server-match", "closed", "pause"]);

function defaultSetup(): Pop3TranscriptSetup {
  return {
    users: {},
    messages: [],
    gone: new Set(),
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
    maxLine: 4096,
  };
}

/** The UIDL of a Maildir name: without new/ or cur/, up to the first `:` (§7.3). */
export function uidlOf(name: string): string {
  const base = name.slice(name.indexOf("/") + 1);
  const colon = base.indexOf(":");
  return colon < 0 ? base : base.slice(0, colon);
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
    case "message":
      if (words.length !== 2 || !/^\d+$/.test(words[1]) || !/^(new|cur)\/./.test(words[0])) {
        throw new TranscriptError(line, "message takes new/NAME or cur/NAME and SIZE");
      }
      setup.messages.push({ name: words[0], size: Number(words[1]), uidl: uidlOf(words[0]) });
      return;
    case "gone":
      setup.gone.add(value);
      return;
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
    case "commit-error":
      setup.commitError = value;
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

/** Session options for a setup, as the pop3d role builds them. */
export function pop3OptionsForSetup(setup: Pop3TranscriptSetup): Pop3SessionOptions {
  return {
    hostname: setup.hostname,
    timestamp: setup.timestamp,
    tls: { offered: setup.tls, active: setup.tlsActive },
    plaintextAllowed: setup.plaintext,
    mechanisms: mechanismsFromMask(setup.mechanismsMask),
    mechanismsTls: mechanismsFromMask(setup.mechanismsTlsMask),
    newChallenge: () => ({ challenge: setup.challenge, nonce: setup.nonce }),
    failDelaySeconds: setup.failDelay,
  };
}

/** The pure run's record, for tests that want to look further. */
export interface Pop3TranscriptRun {
  closed: boolean;
  /** Effects the session asked for, in order. */
  effects: Pop3Effect[];
  /** The deleted messages of the last commit. */
  committed?: Pop3Message[];
}

/**
 * Drives Pop3Session as the connection driver does (a line reader with a
 * length limit that discards over-long lines to their LF, pipelined lines
 * handed over one by one, buffered input dropped at STLS, effects run in
 * order with the fakes above) and checks every expectation. Throws
 * TranscriptError at the first mismatch.
 */
export function runPop3Transcript(transcript: Pop3Transcript): Pop3TranscriptRun {
  const { setup, events } = transcript;
  const session = new Pop3Session(pop3OptionsForSetup(setup));
  const output: string[] = [];
  const run: Pop3TranscriptRun = { closed: false, effects: [] };
  let input: Uint8Array = new Uint8Array(0);
  let discarding = false;

  const apply = (result: Pop3Step) => {
    const retrieve = result.effects.find((effect) => effect.kind === "retrieve");
    if (retrieve !== undefined && setup.gone.has(retrieve.message.name)) {
      // The driver opens the message before answering; it is gone.
      run.effects.push(retrieve);
      apply(session.retrieveFailed());
      return;
    }
    if (result.delay > 0) output.push(`${PAUSE}${result.delay}`);
    output.push(...result.replies);
    if (result.close) {
      run.closed = true;
      input = new Uint8Array(0);
    }
    run.effects.push(...result.effects);
    for (const effect of result.effects) {
      switch (effect.kind) {
        case "starttls":
          // The handshake "succeeds"; what the client pipelined after STLS is dropped.
          input = new Uint8Array(0);
          discarding = false;
          apply(session.tlsStarted());
          break;
        case "auth": {
          const verdict = verifyTranscriptCredentials(setup.users, effect.credentials);
          apply(session.authVerified(verdict, verdict.ok ? 0 : 1, !verdict.ok && setup.blocked));
          break;
        }
        case "open":
          if (setup.inUse) apply(session.mailboxFailed("in-use"));
          else if (setup.scanError) apply(session.mailboxFailed("temporary"));
          else apply(session.mailboxOpened(setup.messages));
          break;
        case "retrieve":
          output.push(
            effect.lines === undefined
              ? effect.message.name
              : `${effect.message.name} top ${effect.lines}`,
            ".",
          );
          break;
        case "commit":
          run.committed = effect.deleted;
          apply(session.committed(
            setup.commitError === undefined ? { ok: true } : { ok: false, text: setup.commitError },
          ));
          break;
      }
    }
  };

  const pump = () => {
    while (!run.closed && input.length > 0) {
      const lf = input.indexOf(0x0a);
      if (lf < 0) {
        if (input.length > setup.maxLine) {
          discarding = true;
          input = new Uint8Array(0);
        }
        return;
      }
      let line = input.subarray(0, lf);
      input = input.subarray(lf + 1);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
      if (discarding || line.length > setup.maxLine) {
        discarding = false;
        apply(session.lineTooLong());
      } else {
        apply(session.receiveLine(line));
      }
    }
  };

  apply(session.greet());
  for (const event of events) {
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
    }
  }
  expectNoMoreOutput(output, events.at(-1)?.line ?? 0);
  return run;
}
