/**
 * Drives one POP3 connection: lines in, the pure session core (pop3/session.ts)
 * deciding, its effects run here — STLS (with pop3clientcert, the client
 * certificate checked after each handshake), credentials checked by the caller's
 * verifier (the auth role, or in-process for `qmd pop3d`), the Maildir locked
 * and scanned, messages streamed, QUIT's deletions committed — replies out.
 * Transport neutral like the SMTP driver: a node:net socket in the appliance,
 * stdin/stdout under tcpserver.
 */
import type tls from "node:tls";
import { Pop3Session } from "../pop3/session.ts";
import type { Pop3SessionOptions } from "../pop3/session_options.ts";
import type { Pop3Message, Pop3Step } from "../pop3/session_step.ts";
import { redactPop3Line } from "../pop3/command_line.ts";
import { REPLY_CERTIFICATE_REFUSED } from "../pop3/replies.ts";
import type { ClientCertificateCheck } from "../tls/client_certificate.ts";
import { MaildirBox } from "../pop3/maildir_box.ts";
import { OutputBuffer } from "../pop3/output_buffer.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import { type AuthFailureGuard, checkCredentials } from "./credentials_check.ts";
import type { TlsStartOptions, Transport } from "./smtp_connection.ts";
import { LineBuffer } from "./line_buffer.ts";
import {
  isDisconnect,
  ReadTimeout,
  realSleep,
  SessionAbort,
  TLS_HANDSHAKE_SECONDS,
  withTimeout,
} from "./connection_io.ts";
import {
  commandDeadline,
  type ConnectionStress,
  type Deadline,
  waitForClient,
} from "./client_wait.ts";
import { logEvent, logPressure } from "../log.ts";

export interface Pop3ConnectionOptions {
  session: Pop3SessionOptions;
  /** Seconds allowed for each read and write (qmail-popup and qmail-pop3d: 1200). */
  timeoutSeconds: number;
  /** Seconds a command line may take from its first byte to its LF (control/timeoutcommand). */
  commandSeconds: number;
  /** Seconds a TLS handshake may take (default TLS_HANDSHAKE_SECONDS). */
  handshakeSeconds?: number;
  /** Stress mode's shorter waits (client_wait.ts); absent under tcpserver. */
  stress?: ConnectionStress;
  /** Longest command line accepted, in bytes. */
  maxLineLength: number;
  sessionId: string;
  remoteIp: string;
  /** Checks credentials; an ok result must carry the user's home (HOME/Maildir is the mailbox). */
  verify: (credentials: Credentials) => Promise<VerifyResult>;
  /** The Maildir's name inside the home (qmail-pop3d's argument; default "Maildir"). */
  maildirName?: string;
  /** The shared failed-login table and limits; absent = this client is not counted. */
  authFailures?: AuthFailureGuard;
  tls?: () => TlsStartOptions | undefined;
  /** POP3S: TLS before the greeting. */
  implicitTls?: boolean;
  /**
   * control/pop3clientcert: checks the client certificate after every handshake (clientca.pem,
   * clientcrl.pem, tlsclients); one it does not accept ends the session. Absent: none wanted.
   */
  clientCertificate?: (socket: tls.TLSSocket) => Promise<ClientCertificateCheck>;
  /** control/log/pop3_in and pop3_out (docs/patches.md seed 000). */
  log?: { pop3In: boolean; pop3Out: boolean };
  now?: () => Date;
  sleep?: (seconds: number) => Promise<void>;
}

/** Output queued past this many bytes is written at once. */
const OUTPUT_HIGH_WATER = 1024 * 1024;
/** A message is written out in parts of this size and more (OutputBuffer's flushBytes). */
const STREAM_FLUSH_BYTES = 256 * 1024;

/** A client line as text for the log, one char per byte, its CR terminator dropped. */
function logText(line: Uint8Array): string {
  const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
  let text = "";
  for (let i = 0; i < end; i++) text += String.fromCharCode(line[i]);
  return text;
}

/** Serves one POP3 session to its end. Never throws for client behaviour. */
export async function servePop3Connection(
  transport: Transport,
  options: Pop3ConnectionOptions,
): Promise<void> {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ??
    realSleep;
  const sessionId = options.sessionId;
  const session = new Pop3Session({
    ...options.session,
    tls: {
      offered: options.session.tls.offered && options.tls?.() !== undefined,
      active: options.implicitTls ?? false,
    },
  });
  const lines = new LineBuffer(options.maxLineLength);
  let box: MaildirBox | undefined;
  const output = new OutputBuffer((bytes) =>
    waitForClient(transport.write(bytes), {
      start: Date.now(),
      seconds: options.timeoutSeconds,
      writing: bytes.length,
    }, options.stress), { flushBytes: STREAM_FLUSH_BYTES });
  /** Where the last reply queued begins: a RETR's "+OK", taken back when the message is gone. */
  let lastReply = 0;

  const flush = () => output.flush();
  const apply = async (step: Pop3Step): Promise<boolean> => {
    // A pipelining client that does not read: write (and stop reading) before
    // queueing more. Done first, so a RETR's "+OK" stays last in the queue.
    if (step.delay > 0) await flush();
    else if (output.size >= OUTPUT_HIGH_WATER) await output.wait(OUTPUT_HIGH_WATER);
    if (step.delay > 0) await sleep(step.delay);
    for (const reply of step.replies) {
      if (options.log?.pop3Out) {
        logEvent("pop3_out", `pop3d ${sessionId}: S: ${reply}`, { session: sessionId });
      }
      lastReply = output.position;
      output.text(reply + "\r\n");
    }
    return step.close;
  };
  const read = async (deadline: Deadline | undefined): Promise<Uint8Array | undefined> => {
    // The replies go out while the next commands are awaited; a write that
    // fails or times out meanwhile ends the wait.
    output.send();
    return await Promise.race([
      waitForClient(
        transport.read(),
        { start: Date.now(), seconds: options.timeoutSeconds, deadline },
        options.stress,
      ),
      output.failed,
    ]);
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
    let socket: tls.TLSSocket;
    try {
      socket = (await withTimeout(transport.startTls(tlsOptions), seconds)).socket;
    } catch (error) {
      // No -ERR here: the client is mid-handshake and would not read plain text.
      throw new SessionAbort(
        error instanceof ReadTimeout
          ? `TLS handshake not finished within ${seconds} s`
          : `TLS handshake failed: ${(error as Error).message}`,
      );
    }
    if (options.clientCertificate !== undefined) {
      const check = await options.clientCertificate(socket);
      if (!check.ok) {
        // Told over TLS, then the session ends (the finally block writes it).
        output.text(REPLY_CERTIFICATE_REFUSED + "\r\n");
        throw new SessionAbort(`no valid client certificate: ${check.reason ?? "none sent"}`);
      }
      logEvent("pop3_client_cert", `pop3d ${sessionId}: client certificate ${check.email}`, {
        session: sessionId,
        email: check.email,
      });
    }
    return socket;
  };

  /** Runs a step's effects in order; returns whether the session is over. */
  const runEffects = async (step: Pop3Step): Promise<boolean> => {
    for (const effect of step.effects) {
      let next: Pop3Step;
      switch (effect.kind) {
        case "starttls":
          await startTls();
          next = session.tlsStarted();
          break;
        case "auth":
          {
            const checked = await checkCredentials(effect.credentials, {
              verify: options.verify,
              authFailures: options.authFailures,
              remoteIp: options.remoteIp,
              sessionId,
              log: { prefix: "pop3d", event: "pop3_login", word: "login" },
            });
            if (checked.result.ok) pendingHome = checked.result.home;
            next = session.authVerified(checked.result, checked.recentFailures, checked.blocked);
          }
          break;
        case "open":
          next = await openMailbox(pendingHome, options, now(), (opened) => (box = opened))
            .then((result) =>
              result === "in-use" || result === "temporary"
                ? session.mailboxFailed(result)
                : session.mailboxOpened(result)
            );
          break;
        case "retrieve":
          next = await retrieve(effect.message, effect.lines);
          break;
        case "commit": {
          const result = box === undefined
            ? { ok: true as const }
            : await box.commit(effect.deleted);
          next = session.committed(result);
          break;
        }
      }
      if (await apply(next)) return true;
      if (await runEffects(next)) return true;
    }
    return false;
  };
  let pendingHome: string | undefined;

  /**
   * Streams a message after its "+OK" line (the step's, the last reply
   * queued), both appended to the output, and starts writing them (with any
   * replies before). A message that vanished (qmail-pop3d opens it
   * before answering) gets retrieveFailed()'s reply instead of the "+OK".
   */
  const retrieve = async (message: Pop3Message, count: number | undefined): Promise<Pop3Step> => {
    const okAt = lastReply;
    let result: "sent" | "gone";
    try {
      result = box === undefined ? "gone" : await box.stream(message, output, count);
    } catch (error) {
      // Unreadable: no "+OK" without its message, unless part of it has left.
      if (output.sent <= okAt) output.truncate(okAt);
      throw error;
    }
    if (result === "sent") {
      // Out at once, not at the next read, and the next command taken only
      // once the write before this one has finished: the client works on
      // one message while the next is converted, a pipeline. issue 16's
      // bench: a third more RETRs a second than writes of several messages
      // (at the next read, or gathered while a write was under way).
      await output.wait(1);
      return { replies: [], effects: [], close: false, delay: 0 };
    }
    output.truncate(okAt);
    return session.retrieveFailed();
  };

  try {
    if (options.implicitTls) await startTls();
    if (await apply(session.greet())) return;
    /** Set when a command line has begun and must end within commandSeconds. */
    let lineDeadline: Deadline | undefined;
    while (true) {
      const result = lines.next();
      if (result === undefined) {
        if (lines.partial) lineDeadline ??= commandDeadline(options.commandSeconds);
        const chunk = await read(lineDeadline);
        if (chunk === undefined) return;
        lines.push(chunk);
        continue;
      }
      lineDeadline = undefined;
      // The log writer is behind: take no more commands until it caught up.
      const logBehind = logPressure();
      if (logBehind !== undefined) await logBehind;
      if (options.log?.pop3In) {
        const text = result.kind === "too-long"
          ? "<command line too long>"
          : redactPop3Line(logText(result.line), session.phase === "auth");
        logEvent("pop3_in", `pop3d ${sessionId}: C: ${text}`, { session: sessionId });
      }
      const step = result.kind === "too-long"
        ? session.lineTooLong()
        : session.receiveLine(result.line);
      if (await apply(step)) return;
      if (await runEffects(step)) return;
    }
  } catch (error) {
    if (error instanceof ReadTimeout) {
      await apply(session.timeout()).catch(() => true);
      const why = error.message === "" ? "" : `: ${error.message}`;
      logEvent("pop3_timeout", `pop3d ${sessionId}: timeout${why}`, { session: sessionId });
    } else if (error instanceof SessionAbort) {
      logEvent("pop3_abort", `pop3d ${sessionId}: ${error.message}`, { session: sessionId });
    } else if (!isDisconnect(error)) {
      logEvent("pop3_error", `pop3d ${sessionId}: ${(error as Error).message}`, {
        session: sessionId,
      });
    }
  } finally {
    box?.close();
    try {
      await flush();
    } catch {
      // the client is gone
    }
    transport.close();
  }
}

/** Locks and scans HOME/Maildir; "in-use" for [IN-USE], "temporary" for anything else. */
async function openMailbox(
  home: string | undefined,
  options: Pop3ConnectionOptions,
  now: Date,
  keep: (box: MaildirBox) => void,
): Promise<Pop3Message[] | "in-use" | "temporary"> {
  if (home === undefined) return "temporary";
  const maildir = `${home}/${options.maildirName ?? "Maildir"}`;
  try {
    const opened = await MaildirBox.open(maildir, now);
    if (opened === "in-use") return "in-use";
    keep(opened);
    return opened.messages;
  } catch (error) {
    logEvent("pop3_maildir_error", `pop3d ${options.sessionId}: ${(error as Error).message}`, {
      session: options.sessionId,
    });
    return "temporary";
  }
}
