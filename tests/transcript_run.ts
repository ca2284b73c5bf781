/**
 * Runs SMTP transcripts (tests/transcript.ts) through the real connection
 * driver, serveSmtpConnection, with its options built as the smtpd role
 * builds them from control files in a temporary home:
 *
 * - in memory: the driver over a MemoryConnection, a queue that keeps what
 *   it is given, the clock fixed at `@ now`, pauses recorded, TLS assumed,
 *   the client at `@ remote`;
 * - live: the driver on a loopback socket, the real queue in the temporary
 *   home (or, for `@ queue-error`, a QMAILQUEUE program that refuses), the
 *   real clock, real TLS with a test certificate, pauses recorded
 *   where they fall in the byte stream. Transcripts with in-memory-only
 *   setup (transcriptRunsOnlyInMemory) are not run live.
 *
 * Both record the `reject:` log lines for L events.
 */
import { concatBytes } from "../appliance/bytes.ts";
import type { LogRecord } from "../appliance/log.ts";
import { setLogSink } from "../appliance/log.ts";
import { AuthFailures } from "../appliance/net/auth_failures.ts";
import { authFailureGuard } from "../appliance/net/credentials_check.ts";
import {
  type MessageSink,
  serveSmtpConnection,
  type SmtpConnectionOptions,
} from "../appliance/net/smtp_connection.ts";
import {
  buildSessionOptions,
  type ConnectionFacts,
  loadMoreRcptHosts,
} from "../appliance/net/smtp_options.ts";
import { socketTransport } from "../appliance/net/socket_transport.ts";
import { parseTodo } from "../appliance/queue/envelope.ts";
import { EXIT_CUSTOM_ERROR, openExternalQueue } from "../appliance/queue/external_queue.ts";
import { openQueueMessage, QueueError } from "../appliance/queue/qmail_queue.ts";
import type { QueueLayout } from "../appliance/queue/layout.ts";
import { makeTestQueue } from "../appliance/queue/test_queue.ts";
import { REPLY_TLS_READY } from "../appliance/smtp/replies.ts";
import { loadSmtpdControls, resolveSmtpdPolicy, type SmtpdControls } from "../config/smtpd.ts";
import { MemoryConnection } from "./fakes/memory_connection.ts";
import type { SessionTrace } from "../appliance/filters/filter.ts";
import type { LookupRunners } from "../appliance/net/filter_lookups.ts";
import {
  FILTER_MODULES,
  type FilterModule,
  loadFilterControls,
} from "../appliance/policy/filter_modules.ts";
import { type ContentModule, loadContentControls } from "../appliance/policy/content_modules.ts";
import {
  parseTranscriptSetup,
  type TranscriptEvent,
  type TranscriptSetup,
  verifyTranscriptCredentials,
  writeTranscriptControls,
} from "./transcript.ts";
import { type QueuedMessage, splitQueuedMessage } from "./transcript_expect.ts";
import { playTranscript, type TranscriptServer } from "./transcript_play.ts";
import {
  LoopbackServer,
  PauseRecorder,
  SocketClient,
  testTlsOptions,
} from "./transcript_socket.ts";

/** A QMAILQUEUE program that reads the message and exits $QQ_EXIT saying $QQ_STDERR. */
const REFUSING_QUEUE = new URL("./fixtures/qmailqueue/exit_code.sh", import.meta.url).pathname;

/** The qp the in-memory queue reports. */
export const MEMORY_QUEUE_QP = "4242";

/** What an in-memory run leaves behind, for tests that look further. */
export interface TranscriptRun {
  queued: QueuedMessage[];
  /** Messages the driver opened in the queue and then dropped. */
  aborted: number;
  closed: boolean;
  /** How often the driver started TLS. */
  tlsStarts: number;
}

/**
 * What a test adds to an in-memory run: small fake filter and content checks
 * (registered as modules, as appliance/policy/ registers the real ones),
 * lookup runners, and hooks that see the trace and every log record.
 */
export interface TranscriptFilterHooks {
  /** The filter checks; by default the real table, as the smtpd role runs them. */
  filterModules?: readonly FilterModule[];
  contentModules?: readonly ContentModule[];
  lookupRunners?: LookupRunners;
  /** The lookups' resolver (default: the system's, never asked by a run without lookups). */
  lookups?: SmtpConnectionOptions["lookups"];
  onTrace?: (trace: SessionTrace) => void;
  onLog?: (record: LogRecord) => void;
  /** Where scans that edit the message's head spool it (the role passes queue/pid). */
  spoolDirectory?: string;
}

/** A queue that keeps each committed message, or refuses every commit with `@ queue-error`. */
class MemoryQueue {
  readonly queued: QueuedMessage[] = [];
  /** Messages opened and then aborted. */
  aborted = 0;
  #ids = 0n;
  readonly #error: string | undefined;

  constructor(error: string | undefined) {
    this.#error = error;
  }

  open(): MessageSink {
    const chunks: Uint8Array[] = [];
    return {
      qp: MEMORY_QUEUE_QP,
      id: ++this.#ids,
      write: (chunk) => {
        // The driver may reuse its buffer once the write is done.
        chunks.push(chunk.slice());
        return Promise.resolve();
      },
      commit: (sender, recipients) => {
        if (this.#error !== undefined) {
          // As a QMAILQUEUE program that exits 82 with its own D/Z line (docs/patches.md seed 001).
          const error = new QueueError(EXIT_CUSTOM_ERROR, "the queue refused the message", {
            replyText: this.#error,
          });
          return Promise.reject(error);
        }
        this.queued.push(splitQueuedMessage(concatBytes(chunks), sender, recipients));
        return Promise.resolve();
      },
      abort: () => {
        this.aborted++;
        return Promise.resolve();
      },
    };
  }
}

/** Collects the driver's `reject:` lines, without their `smtpd ID: ` prefix. */
function recordRejectLines(sessionId: string, onLog?: (record: LogRecord) => void): string[] {
  const lines: string[] = [];
  const prefix = `smtpd ${sessionId}: `;
  setLogSink((record: LogRecord) => {
    onLog?.(record);
    if (record.event !== "smtp_reject") return;
    lines.push(record.text.startsWith(prefix) ? record.text.slice(prefix.length) : record.text);
  }, "smtpd");
  return lines;
}

/** The controls of a setup, written to a fresh temporary home and read back. */
function homeWithControls(setup: TranscriptSetup): { home: string; controls: SmtpdControls } {
  const home = Deno.makeTempDirSync({ prefix: "qmd-transcript-" });
  writeTranscriptControls(home, setup);
  return { home, controls: loadSmtpdControls(home) };
}

/** What the run gives the driver: where messages go, how it pauses, its clock. */
type RunHooks = Pick<SmtpConnectionOptions, "openQueue" | "sleep" | "now" | "onQueued">;

/** The driver's options as roles/smtpd.ts builds them, for one connection. */
function connectionOptions(
  setup: TranscriptSetup,
  controls: SmtpdControls,
  facts: ConnectionFacts,
  sessionId: string,
  hooks: RunHooks,
  filters: TranscriptFilterHooks & { home: string },
): SmtpConnectionOptions {
  const policy = resolveSmtpdPolicy(controls, setup.env);
  const filterModules = filters.filterModules ?? FILTER_MODULES;
  const contentModules = filters.contentModules ?? [];
  return {
    ...hooks,
    lookupRunners: filters.lookupRunners,
    lookups: filters.lookups,
    contentModules,
    contentControls: loadContentControls(filters.home, contentModules),
    onTrace: filters.onTrace,
    spoolDirectory: filters.spoolDirectory,
    session: buildSessionOptions(controls, loadMoreRcptHosts(controls), policy, facts, {
      tlsAvailable: setup.tls,
      tlsActive: policy.smtps,
      authAvailable: Object.keys(setup.users).length > 0,
      authRequired: setup.submission,
      newChallenge: () => ({ challenge: setup.challenge, nonce: setup.nonce }),
      nowMs: hooks.now?.().getTime(),
      filters: {
        controls: loadFilterControls(filters.home, filterModules),
        env: setup.env,
        listener: setup.submission ? "submission" : "smtp",
        modules: filterModules,
      },
    }),
    timeoutSeconds: controls.timeoutSeconds,
    commandSeconds: controls.commandTimeoutSeconds,
    dataSeconds: controls.dataTimeoutSeconds,
    maxLineLength: controls.maxCmdLen,
    sessionId,
    greetDelay: policy.greetDelay,
    dataBeforeGreet: policy.dataBeforeGreet,
    implicitTls: policy.smtps,
    tls: setup.tls || policy.smtps ? testTlsOptions : undefined,
    verify: (credentials) => Promise.resolve(verifyTranscriptCredentials(setup.users, credentials)),
    authFailures: authFailureGuard(
      new AuthFailures(AuthFailures.createBuffer()),
      controls.authFailures,
      { remoteIp: facts.remoteIp, relayClient: policy.relayClient },
    ),
    log: controls.log,
  };
}

/**
 * Runs a transcript through serveSmtpConnection over a MemoryConnection;
 * throws TranscriptError at the first mismatch.
 */
export async function runTranscriptInMemory(
  events: TranscriptEvent[],
  sessionId = "memory",
  filters: TranscriptFilterHooks = {},
): Promise<TranscriptRun> {
  const setup = parseTranscriptSetup(events);
  const { home, controls } = homeWithControls(setup);
  const connection = new MemoryConnection();
  const queue = new MemoryQueue(setup.queueError);
  const rejectLines = recordRejectLines(sessionId, filters.onLog);
  try {
    const options = connectionOptions(
      setup,
      controls,
      {
        remoteIp: setup.remoteIp,
        remoteHost: setup.remoteHost,
        remoteInfo: setup.remoteInfo,
        localHost: setup.localHost,
      },
      sessionId,
      {
        openQueue: () => Promise.resolve(queue.open()),
        now: () => setup.now,
        sleep: connection.sleep,
      },
      { ...filters, home },
    );
    const session = serveSmtpConnection(connection.transport, {
      ...options,
      session: { ...options.session, localIps: setup.localIps },
    });
    const server: TranscriptServer = {
      tlsReady: REPLY_TLS_READY,
      nextRejectLine: async () => {
        await connection.settled();
        return rejectLines.shift();
      },
      uncheckedRejectLines: () => rejectLines,
      lastQueued: async () => {
        await connection.settled();
        return queue.queued.at(-1);
      },
    };
    try {
      await playTranscript(events, connection, server);
    } finally {
      await connection.hangUp();
      await session;
    }
    return {
      queued: queue.queued,
      aborted: queue.aborted,
      closed: await connection.closed(),
      tlsStarts: connection.tlsStarts,
    };
  } finally {
    setLogSink(() => {}, "test");
    Deno.removeSync(home, { recursive: true });
  }
}

/** A message in the real queue: qmail-queue's Received line, then what smtpd wrote. */
function readQueued(layout: QueueLayout, id: bigint): QueuedMessage {
  const mess = Deno.readFileSync(layout.mess(id));
  const todo = parseTodo(Deno.readFileSync(layout.todo(id)));
  return splitQueuedMessage(
    mess.subarray(mess.indexOf(0x0a) + 1),
    todo.sender ?? new Uint8Array(0),
    todo.recipients,
  );
}

/**
 * Runs a transcript through serveSmtpConnection on a loopback socket with
 * the real queue; throws TranscriptError at the first mismatch.
 */
export async function runTranscriptLive(
  events: TranscriptEvent[],
  sessionId = "live",
  filters: TranscriptFilterHooks & { onQueue?: (queueRoot: string) => void } = {},
): Promise<void> {
  const setup = parseTranscriptSetup(events);
  const { home, controls } = homeWithControls(setup);
  const layout = makeTestQueue(home);
  const queueError = setup.queueError ?? "";
  const queued: bigint[] = [];
  const recorder = new PauseRecorder();
  const rejectLines = recordRejectLines(sessionId, filters.onLog);
  const listener = await LoopbackServer.listen((socket) => {
    const options = connectionOptions(
      setup,
      controls,
      {
        remoteIp: socket.remoteAddress ?? "unknown",
        localIp: socket.localAddress,
      },
      sessionId,
      {
        openQueue: setup.queueError === undefined
          ? () => openQueueMessage(layout, { who: "from network" })
          : () =>
            openExternalQueue(REFUSING_QUEUE, layout, {
              timeoutSeconds: controls.timeoutSeconds,
              cwd: home,
              env: { QQ_EXIT: String(EXIT_CUSTOM_ERROR), QQ_STDERR: queueError },
            }),
        sleep: recorder.sleep,
        onQueued: (id) => {
          if (id !== undefined) queued.push(id);
        },
      },
      { ...filters, home },
    );
    return serveSmtpConnection(recorder.wrap(socketTransport(socket)), options);
  });
  let client: SocketClient | undefined;
  try {
    client = await SocketClient.connect(listener.port, recorder);
    await playTranscript(events, client, {
      tlsReady: REPLY_TLS_READY,
      nextRejectLine: async () => {
        // The driver logs a refusal before it writes the reply the client has read.
        for (let waited = 0; rejectLines.length === 0 && waited < 2000; waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return rejectLines.shift();
      },
      uncheckedRejectLines: () => rejectLines,
      lastQueued: () => {
        const last = queued.at(-1);
        return Promise.resolve(last === undefined ? undefined : readQueued(layout, last));
      },
    });
    // Before the home goes: what the queue holds once the session ended.
    filters.onQueue?.(`${home}/queue`);
  } finally {
    client?.destroy();
    await listener.close();
    setLogSink(() => {}, "test");
    await Deno.remove(home, { recursive: true });
  }
}
