/**
 * Drives one SMTP connection: bytes in, the pure session core deciding, the
 * DATA byte machine streaming the body into the queue, replies out; and the
 * session's effects run here: pauses (tarpits, delays), STARTTLS, AUTH
 * verification, session log lines. Transport neutral, so the same driver
 * serves a node:net socket in the appliance and stdin/stdout under tcpserver.
 *
 * qmail's promise is kept here: "250 ok" is written only after the queue
 * committed the message (todo/ID linked and fsynced, or the QMAILQUEUE
 * program exited 0).
 */
import type tls from "node:tls";
import {
  type SmtpDataEffect,
  SmtpSession,
  type SmtpSessionOptions,
  type SmtpStep,
} from "../smtp/session.ts";
import type { FilterRequest, Lookup, LookupAnswer, SessionTrace } from "../filters/filter.ts";
import type { ContentControls, ContentModule } from "../policy/content_modules.ts";
import { Resolver } from "../dns/resolver.ts";
import { type LookupContext, type LookupRunners, runLookup } from "./filter_lookups.ts";
import { SessionAnswers } from "./session_answers.ts";
import { mailauthResolver } from "./spf_lookup.ts";
import { commitMessage, type MessageSink, receiveBody, type ReceivedBody } from "./smtp_message.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import { type AuthFailureGuard, checkCredentials } from "./credentials_check.ts";
import { LineBuffer } from "./line_buffer.ts";
import {
  isDisconnect,
  OUTPUT_HIGH_WATER,
  ReadTimeout,
  realSleep,
  SessionAbort,
  TLS_HANDSHAKE_SECONDS,
  withTimeout,
} from "./connection_io.ts";
import {
  commandDeadline,
  type ConnectionStress,
  dataDeadline,
  type Deadline,
  earlier,
  rblDeadline,
  waitForClient,
} from "./client_wait.ts";
import { logEvent, logPressure } from "../log.ts";

export interface TlsStartOptions {
  secureContext: tls.SecureContext;
  requestCert: boolean;
}

export interface TlsStarted {
  socket: tls.TLSSocket;
}

/** What the driver needs from a connection. */
export interface Transport {
  /** Reads the next chunk; undefined at EOF. */
  read(): Promise<Uint8Array | undefined>;
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
  /** Server-side TLS over this connection; input not yet read is dropped. */
  startTls?(options: TlsStartOptions): Promise<TlsStarted>;
}

export type { MessageSink } from "./smtp_message.ts";

/** Session log switches (docs/patches.md seed 000 control/log/*). */
export interface SmtpLogSwitches {
  smtpIn: boolean;
  smtpOut: boolean;
  orChecks: boolean;
  tarpitting: boolean;
  /** log/pidqplog (docs/patches.md seed 003): one line per message queued. */
  pidQp?: boolean;
}

export interface SmtpConnectionOptions {
  session: SmtpSessionOptions;
  /**
   * Opens the place the next message goes; `request` is the transaction as the
   * checks see it at DATA (the queue writer's originipfield needs `relaying`).
   */
  openQueue: (request: FilterRequest) => Promise<MessageSink>;
  /** Seconds allowed for each read and write (control/timeoutsmtpd). */
  timeoutSeconds: number;
  /** Seconds a command line may take from its first byte to its LF (control/timeoutcommand). */
  commandSeconds: number;
  /** Seconds the DATA section may take from the 354 to the final dot (control/timeoutdata). */
  dataSeconds: number;
  /** Seconds a TLS handshake may take (default TLS_HANDSHAKE_SECONDS). */
  handshakeSeconds?: number;
  /** Stress mode's shorter waits (client_wait.ts); absent under tcpserver. */
  stress?: ConnectionStress;
  /** Longest command line accepted, in bytes (control/maxcmdlen). */
  maxLineLength: number;
  /** Session id for log lines. */
  sessionId: string;
  /** greetdelay seconds before the 220; databeforegreet hangs up on input during it. */
  greetDelay?: number;
  dataBeforeGreet?: boolean;
  /** TLS for STARTTLS and SMTPS: the current context, or undefined when there is none. */
  tls?: () => TlsStartOptions | undefined;
  /** SMTPS: start TLS before the greeting. */
  implicitTls?: boolean;
  /** control/tlsclients: a verified client certificate's address that may relay. */
  tlsClientRelays?: (socket: tls.TLSSocket) => Promise<boolean>;
  /** Checks AUTH credentials. */
  verify?: (credentials: Credentials) => Promise<VerifyResult>;
  /** The shared failed-login table and limits; absent = this client is not counted. */
  authFailures?: AuthFailureGuard;
  log?: SmtpLogSwitches;
  /** Called after a message was committed to the built-in queue. */
  onQueued?: (id: bigint | undefined) => void;
  /** Called with the session core once it exists (`qmd smtpd` exits by how it ended). */
  onSession?: (session: SmtpSession) => void;
  /**
   * What the filter checks' lookups run with (filter_lookups.ts): the role's
   * shared resolver. Default: a resolver on /etc/resolv.conf.
   */
  lookups?: Omit<LookupContext, "sessionId">;
  /** The lookup runners; default LOOKUP_RUNNERS (tests pass their own). */
  lookupRunners?: LookupRunners;
  /** An answer the role already has (realrcptto's kept "yes"): taken at once, nothing is run. */
  knownAnswer?: (lookup: Lookup) => LookupAnswer | undefined;
  /** The content checks' controls (loadContentControls), in `contentModules` order. */
  contentControls?: ContentControls;
  /** Default CONTENT_MODULES (tests pass their own). */
  contentModules?: readonly ContentModule[];
  /** queue/pid: where a scan that edits the message's head spools it (message_spool.ts). */
  spoolDirectory?: string;
  /**
   * Called once at the session's end with its decisions and the messages it
   * queued, for the trace store (`qmd explain`).
   */
  onTrace?: (trace: SessionTrace) => void;
  now?: () => Date;
  /** Pauses; tests may pass a fake. */
  sleep?: (seconds: number) => Promise<void>;
}

const encoder = new TextEncoder();
const CRLF = "\r\n";

/** Reply for databeforegreet (docs/patches.md seed 001): the client spoke before the 220. */
const REPLY_DATA_BEFORE_GREET = "554 5.5.0 sorry, you spoke before my greeting";

/**
 * A command line for the session log, one character per byte, its CR
 * terminator dropped and AUTH secrets hidden; logEvent escapes the control
 * characters left (a stray CR, ESC).
 */
function loggedCommand(line: Uint8Array, inAuth: boolean): string {
  if (inAuth) return "<hidden>";
  const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
  let text = "";
  for (let i = 0; i < end; i++) text += String.fromCharCode(line[i]);
  const auth = /^(auth\s+\S+)\s+\S/i.exec(text);
  return auth === null ? text : `${auth[1]} <hidden>`;
}

/** Serves one SMTP session to its end. Never throws for client behaviour. */
export async function serveSmtpConnection(
  transport: Transport,
  options: SmtpConnectionOptions,
): Promise<void> {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? realSleep;
  const sessionId = options.sessionId;
  const logSwitches = options.log;
  const session = new SmtpSession({
    ...options.session,
    tls: {
      offered: (options.session.tls?.offered ?? false) && options.tls?.() !== undefined,
      active: options.implicitTls ?? false,
    },
  });
  options.onSession?.(session);
  const lines = new LineBuffer(options.maxLineLength);
  let output: string[] = [];
  let outputLength = 0;
  let pendingRead: Promise<Uint8Array | undefined> | undefined;

  const flush = async () => {
    if (output.length === 0) return;
    const bytes = encoder.encode(output.join(""));
    output = [];
    outputLength = 0;
    await waitForClient(transport.write(bytes), {
      start: Date.now(),
      seconds: options.timeoutSeconds,
      writing: bytes.length,
    }, options.stress);
  };
  /** Queues a step's replies after its pause; returns whether the session is over. */
  const apply = async (step: SmtpStep): Promise<boolean> => {
    if (step.delay > 0) {
      await flush();
      await sleep(step.delay);
    }
    for (const effect of step.effects) {
      if (effect.kind !== "log") continue;
      if (effect.event === "tarpit" && !logSwitches?.tarpitting) continue;
      if (effect.event === "relay-refused" && !logSwitches?.orChecks) continue;
      logEvent(`smtp_${effect.event.replace("-", "_")}`, `smtpd ${sessionId}: ${effect.text}`, {
        session: sessionId,
        ...effect.fields,
      });
    }
    for (const reply of step.replies) {
      if (logSwitches?.smtpOut) {
        logEvent("smtp_out", `smtpd ${sessionId}: S: ${reply}`, { session: sessionId });
      }
      output.push(reply + CRLF);
      outputLength += reply.length + CRLF.length;
    }
    // A pipelining client that does not read its replies: write them (and so
    // stop reading its commands) before they pile up.
    if (outputLength >= OUTPUT_HIGH_WATER) await flush();
    return step.close;
  };
  /** The next chunk from the client, within the read timeout and the deadline if any. */
  const read = async (deadline?: Deadline): Promise<Uint8Array | undefined> => {
    await flush();
    const next = pendingRead ?? transport.read();
    pendingRead = undefined;
    return await waitForClient(
      next,
      { start: Date.now(), seconds: options.timeoutSeconds, deadline },
      options.stress,
    );
  };
  const startTls = async (): Promise<tls.TLSSocket> => {
    const tlsOptions = options.tls?.();
    if (tlsOptions === undefined || transport.startTls === undefined) {
      throw new SessionAbort("TLS is not available");
    }
    await flush();
    lines.clear();
    const seconds = Math.min(
      options.handshakeSeconds ?? TLS_HANDSHAKE_SECONDS,
      options.timeoutSeconds,
    );
    try {
      const started = await withTimeout(transport.startTls(tlsOptions), seconds);
      // Logged for STARTTLS and for SMTPS alike.
      logEvent("smtp_tls", `smtpd ${sessionId}: tls ${started.socket.getProtocol() ?? ""}`, {
        session: sessionId,
      });
      return started.socket;
    } catch (error) {
      // No 451 here: the client is mid-handshake and would not read plain text.
      throw new SessionAbort(
        error instanceof ReadTimeout
          ? `TLS handshake not finished within ${seconds} s`
          : `TLS handshake failed: ${(error as Error).message}`,
      );
    }
  };
  /** Set when a command line has begun and must end within commandSeconds. */
  let lineDeadline: Deadline | undefined;
  /** Set when rblsmtpd's conversation began with -t: when it is dropped. */
  let rblDrop: Deadline | undefined;
  const start = now();
  const trace: SessionTrace["messages"] = [];
  let lookupContext: LookupContext | undefined;
  /** A complete body the end-of-DATA checks are deciding on, not yet committed. */
  let held: { body: ReceivedBody; data: SmtpDataEffect } | undefined;

  const answers = new SessionAnswers();
  const context = (): LookupContext =>
    lookupContext ??= { ...(options.lookups ?? { resolver: new Resolver() }), sessionId };
  /**
   * A check's (or a scan's) lookup: an answer the role or the session already
   * has, else run (the replies so far go first).
   */
  const answerLookup = async (lookup: Lookup): Promise<LookupAnswer> => {
    const known = options.knownAnswer?.(lookup) ?? answers.get(lookup);
    if (known !== undefined) return known;
    // No command line is taken meanwhile: pipelined ones wait in `lines`.
    await flush();
    const answer = await runLookup(lookup, context(), {
      runners: options.lookupRunners,
      defaultSeconds: options.timeoutSeconds,
    });
    answers.keep(lookup, answer);
    if (answer.kind === "temporary") {
      logEvent("smtp_lookup", `smtpd ${sessionId}: ${lookup.kind} lookup: ${answer.reason}`, {
        session: sessionId,
        lookup: lookup.kind,
      });
    }
    return answer;
  };

  /** Applies a step and runs its effects, and those of the steps they lead to; true: session over. */
  const run = async (step: SmtpStep): Promise<boolean> => {
    if (await apply(step)) return true;
    for (const effect of step.effects) {
      let next: SmtpStep | undefined;
      if (effect.kind === "lookup") {
        next = session.lookupAnswered(await answerLookup(effect.lookup), now());
      } else if (effect.kind === "data") {
        await flush();
        const deadline = dataDeadline(options.dataSeconds);
        const body = await receiveBody(effect, lines, async () => {
          const chunk = await read(deadline);
          deadline.received += chunk?.length ?? 0;
          return chunk;
        }, {
          ...options,
          scanContext: {
            // Made on first use: most messages meet no scan that asks DNS.
            resolve: (name, type) => mailauthResolver(context().resolver)(name, type),
            lookup: answerLookup,
          },
        });
        if (body.kind === "outcome") {
          next = session.dataFinished(body.outcome);
        } else {
          held = { body, data: effect };
          try {
            if (await run(session.bodyReceived(body.scans, now()))) return true;
          } finally {
            // Refused at the end of DATA (or the session ended): nothing is queued.
            await held?.body.message.abort().catch(() => {});
            held = undefined;
          }
        }
      } else if (effect.kind === "commit") {
        if (held === undefined) throw new Error("A commit without a message");
        const { body, data } = held;
        held = undefined;
        const outcome = await commitMessage(body.message, data, options);
        if (outcome.kind === "queued") {
          options.onQueued?.(body.message.id);
          if (logSwitches?.pidQp) logMessageReceived(sessionId, byteText(data.sender), outcome.qp);
          trace.push({
            queueId: body.message.id?.toString() ?? `qp ${body.message.qp}`,
            ...(body.messageId === undefined ? {} : { messageId: body.messageId }),
            sender: byteText(data.sender),
            recipients: data.recipients.map(byteText),
          });
        }
        next = session.dataFinished(outcome);
      } else if (effect.kind === "starttls") {
        const socket = await startTls();
        const relay = await options.tlsClientRelays?.(socket) ?? false;
        next = session.tlsStarted(relay);
      } else if (effect.kind === "auth") {
        const checked = await checkCredentials(effect.credentials, {
          verify: options.verify,
          authFailures: options.authFailures,
          remoteIp: options.session.remoteIp,
          sessionId,
          log: { prefix: "smtpd", event: "smtp_auth", word: "auth" },
        });
        next = session.authVerified(checked.result, checked.recentFailures, checked.blocked);
      }
      if (next !== undefined && await run(next)) return true;
    }
    return false;
  };

  try {
    if (options.implicitTls) await startTls();
    const greeted = await greet(
      options,
      transport,
      sleep,
      (read) => pendingRead = read,
      apply,
      () => run(session.greet(now())),
    );
    if (!greeted) return;
    while (true) {
      const result = lines.next();
      if (result === undefined) {
        if (lines.partial) lineDeadline ??= commandDeadline(options.commandSeconds);
        const rblSeconds = session.rblSeconds;
        if (rblSeconds !== undefined) rblDrop ??= rblDeadline(rblSeconds);
        const chunk = await read(earlier(lineDeadline, rblDrop));
        if (chunk === undefined) {
          // The client hung up without QUIT: seed 000's line for it.
          logEvent("smtp_eof", `smtpd ${sessionId}: ERROR: eof from client - SPAMMER?`, {
            session: sessionId,
          });
          return;
        }
        lines.push(chunk);
        continue;
      }
      lineDeadline = undefined;
      // The log writer is behind (a client pipelining faster than lines can
      // be logged): take no more commands until it caught up.
      const logBehind = logPressure();
      if (logBehind !== undefined) await logBehind;
      if (logSwitches?.smtpIn) {
        const text = result.kind === "too-long"
          ? "<command line too long>"
          : loggedCommand(result.line, session.phase === "auth");
        logEvent("smtp_in", `smtpd ${sessionId}: C: ${text}`, { session: sessionId });
      }
      const step = result.kind === "too-long"
        ? session.lineTooLong()
        : session.receiveLine(result.line, now());
      if (await run(step)) return;
    }
  } catch (error) {
    if (error instanceof ReadTimeout) {
      await apply(session.timeout()).catch(() => true);
      const why = error.message === "" ? "" : `: ${error.message}`;
      logEvent("smtp_timeout", `smtpd ${sessionId}: timeout${why}`, { session: sessionId });
    } else if (error instanceof SessionAbort) {
      logEvent("smtp_abort", `smtpd ${sessionId}: ${error.message}`, { session: sessionId });
    } else if (!isDisconnect(error)) {
      logEvent("smtp_error", `smtpd ${sessionId}: ${(error as Error).message}`, {
        session: sessionId,
      });
    }
  } finally {
    try {
      await flush();
    } catch {
      // the client is gone; nothing more to say to it
    }
    transport.close();
    options.onTrace?.({
      sessionId,
      start: start.getTime(),
      remoteIp: options.session.remoteIp,
      ...(options.session.remoteHost === "unknown"
        ? {}
        : { remoteHost: options.session.remoteHost }),
      ...(session.helo === undefined ? {} : { helo: session.helo }),
      decisions: [...session.decisions],
      messages: trace,
    });
  }
}

/**
 * The qmail-smtpd-pidqplog patch's line (docs/patches.md seed 003): `mail recv: pid PID from
 * <SENDER> qp QP`, PID this process (qmail-smtpd's), QP the queue's as in the 250 reply.
 */
function logMessageReceived(sessionId: string, sender: string, qp: string): void {
  logEvent(
    "smtp_mail_recv",
    `smtpd ${sessionId}: mail recv: pid ${Deno.pid} from <${sender}> qp ${qp}`,
    {
      session: sessionId,
      pid: Deno.pid,
      sender,
      qp,
    },
  );
}

/** Envelope bytes as text, one char per byte. */
function byteText(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/**
 * The 220, after greetdelay. With databeforegreet a client that speaks during
 * the delay is refused and dropped (docs/patches.md seed 001); otherwise its early bytes are
 * kept, as qmail keeps them. Returns false when the session is over.
 */
async function greet(
  options: SmtpConnectionOptions,
  transport: Transport,
  sleep: (seconds: number) => Promise<void>,
  keepRead: (read: Promise<Uint8Array | undefined>) => void,
  apply: (step: SmtpStep) => Promise<boolean>,
  greeting: () => Promise<boolean>,
): Promise<boolean> {
  const delay = options.greetDelay ?? 0;
  if (delay > 0) {
    const early = transport.read();
    const spoke = await Promise.race([
      early.then(() => true, () => true),
      sleep(delay).then(() => false),
    ]);
    keepRead(early);
    if (spoke && options.dataBeforeGreet) {
      logEvent("smtp_early_talker", `smtpd ${options.sessionId}: data before greeting`, {
        session: options.sessionId,
      });
      await apply({ replies: [REPLY_DATA_BEFORE_GREET], effects: [], close: true, delay: 0 });
      return false;
    }
  }
  return !(await greeting());
}
