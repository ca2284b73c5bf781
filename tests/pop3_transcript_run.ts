/**
 * Runs POP3 transcripts (tests/pop3_transcript.ts) through the real
 * connection driver, servePop3Connection, against a real Maildir in a
 * temporary home, with the driver's options as the pop3d role builds them
 * from control files there (net/pop3_options.ts), except what the setup
 * fixes: the APOP banner and the challenges (the role's are random), and
 * plain-text passwords by control/pop3plaintext alone (the role also allows
 * them from loopback).
 *
 * - in memory: the driver over a MemoryConnection, the clock fixed, pauses
 *   recorded, TLS assumed, the client at 192.0.2.1;
 * - live: the driver on a loopback socket, the real clock, real TLS (STLS,
 *   or from the first byte for POP3S) with a test certificate, pauses
 *   recorded where they fall in the byte stream.
 */
import { mechanismsFromMask } from "../appliance/auth/mechanisms.ts";
import type { Credentials, VerifyResult } from "../appliance/auth/sasl_server.ts";
import { authFailureDelaySeconds, AuthFailures } from "../appliance/net/auth_failures.ts";
import {
  type Pop3ConnectionOptions,
  servePop3Connection,
} from "../appliance/net/pop3_connection.ts";
import { socketTransport } from "../appliance/net/socket_transport.ts";
import { REPLY_TLS_READY } from "../appliance/pop3/replies.ts";
import { setLogSink } from "../appliance/log.ts";
import { loadPop3dControls, type Pop3dControls } from "../config/pop3d.ts";
import { MemoryConnection } from "./fakes/memory_connection.ts";
import {
  blockAddress,
  changeMaildir,
  listMaildir,
  lockMaildir,
  type Pop3Transcript,
  type Pop3TranscriptSetup,
  writeMaildir,
  writePop3Controls,
} from "./pop3_transcript.ts";
import { verifyTranscriptCredentials } from "./transcript.ts";
import { playTranscript, type TranscriptClient, type TranscriptServer } from "./transcript_play.ts";
import {
  LoopbackServer,
  PauseRecorder,
  SocketClient,
  testTlsOptions,
} from "./transcript_socket.ts";

/** The in-memory clock: after every setup message's mtime, so the scan lists them all. */
const MEMORY_NOW = new Date("2024-03-05T07:08:09Z");

/** What a run leaves behind, for tests that look further. */
export interface Pop3TranscriptRun {
  closed: boolean;
  /** The Maildir's files after the session (new/ and cur/). */
  files: string[];
}

/** The setup's users, each with the run's home (its Maildir is HOME/Maildir). */
function verifyMailbox(
  users: Record<string, string>,
  credentials: Credentials,
  home: string,
): VerifyResult {
  const result = verifyTranscriptCredentials(users, credentials);
  return result.ok ? { ...result, home } : result;
}

/** The driver's options for one connection, as net/pop3_options.ts builds them. */
function connectionOptions(
  setup: Pop3TranscriptSetup,
  controls: Pop3dControls,
  home: string,
  remoteIp: string,
  sessionId: string,
  table: AuthFailures,
  hooks: Pick<Pop3ConnectionOptions, "sleep" | "now">,
): Pop3ConnectionOptions {
  if (setup.blocked) blockAddress(table, remoteIp, controls.authFailures);
  return {
    ...hooks,
    session: {
      hostname: controls.me,
      timestamp: setup.timestamp,
      tls: { offered: setup.tls, active: setup.tlsActive },
      plaintextAllowed: controls.plaintext,
      mechanisms: mechanismsFromMask(controls.authPop3),
      mechanismsTls: mechanismsFromMask(controls.authSpop3),
      newChallenge: () => ({ challenge: setup.challenge, nonce: setup.nonce }),
      failDelaySeconds: setup.failDelay,
      failureDelay: authFailureDelaySeconds,
    },
    timeoutSeconds: controls.timeoutSeconds,
    commandSeconds: controls.commandTimeoutSeconds,
    maxLineLength: setup.maxLine,
    sessionId,
    remoteIp,
    verify: (credentials) => Promise.resolve(verifyMailbox(setup.users, credentials, home)),
    authFailures: { table, limits: controls.authFailures },
    tls: setup.tls || setup.tlsActive ? testTlsOptions : undefined,
    implicitTls: setup.tlsActive,
    log: controls.log,
  };
}

/** A temporary home with the setup's controls and Maildir, for one run. */
class Pop3Home {
  readonly home = Deno.makeTempDirSync({ prefix: "qmd-pop3-transcript-" });
  readonly maildir = `${this.home}/Maildir`;
  readonly controls: Pop3dControls;
  readonly table = new AuthFailures(AuthFailures.createBuffer());
  readonly #lock: Deno.FsFile | undefined;

  constructor(setup: Pop3TranscriptSetup) {
    // The session's log lines are not part of a POP3 transcript.
    setLogSink(() => {}, "pop3d");
    writePop3Controls(this.home, setup);
    writeMaildir(this.maildir, setup);
    this.controls = loadPop3dControls(this.home);
    this.#lock = setup.inUse ? lockMaildir(this.maildir) : undefined;
  }

  /** Plays the transcript; `settled` waits until the driver has dealt with what was sent. */
  play(
    transcript: Pop3Transcript,
    client: TranscriptClient,
    settled: () => Promise<void>,
  ): Promise<void> {
    const server: TranscriptServer = {
      tlsReady: REPLY_TLS_READY,
      maildirAction: async (event) => {
        await settled();
        changeMaildir(this.maildir, event);
      },
    };
    return playTranscript(transcript.events, client, server);
  }

  remove(): void {
    this.#lock?.close();
    Deno.removeSync(this.home, { recursive: true });
  }
}

/**
 * Runs a transcript through servePop3Connection over a MemoryConnection;
 * throws TranscriptError at the first mismatch.
 */
export async function runPop3TranscriptInMemory(
  transcript: Pop3Transcript,
  sessionId = "memory",
): Promise<Pop3TranscriptRun> {
  const place = new Pop3Home(transcript.setup);
  try {
    const { setup } = transcript;
    const connection = new MemoryConnection();
    const options = connectionOptions(
      setup,
      place.controls,
      place.home,
      "192.0.2.1",
      sessionId,
      place.table,
      { sleep: connection.sleep, now: () => MEMORY_NOW },
    );
    const session = servePop3Connection(connection.transport, options);
    try {
      await place.play(transcript, connection, () => connection.settled());
    } finally {
      await connection.hangUp();
      await session;
    }
    return { closed: await connection.closed(), files: listMaildir(place.maildir) };
  } finally {
    place.remove();
  }
}

/**
 * Runs a transcript through servePop3Connection on a loopback socket;
 * throws TranscriptError at the first mismatch.
 */
export async function runPop3TranscriptLive(
  transcript: Pop3Transcript,
  sessionId = "live",
): Promise<Pop3TranscriptRun> {
  const place = new Pop3Home(transcript.setup);
  const recorder = new PauseRecorder();
  let client: SocketClient | undefined;
  let listener: LoopbackServer | undefined;
  try {
    const { setup } = transcript;
    listener = await LoopbackServer.listen((socket) => {
      const remote = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
      const options = connectionOptions(
        setup,
        place.controls,
        place.home,
        remote,
        sessionId,
        place.table,
        { sleep: recorder.sleep },
      );
      return servePop3Connection(recorder.wrap(socketTransport(socket)), options);
    });
    client = await SocketClient.connect(listener.port, recorder, setup.tlsActive);
    // The client read the reply before it acts: the driver is done with what came before.
    await place.play(transcript, client, () => Promise.resolve());
    await listener.close();
    return { closed: await client.closed(), files: listMaildir(place.maildir) };
  } finally {
    client?.destroy();
    await listener?.close();
    place.remove();
  }
}
