/**
 * An SMTP attempt on one address: a place in the pool's per-destination
 * bound, a pooled connection when one is idle (RSET between messages, beyond
 * qmail) else a fresh one from the local bind, and the dialogue driven to
 * its result. The dialogue itself (greeting, EHLO/HELO, STARTTLS with
 * tlshosts pins, AUTH, MAIL/RCPT pipelined when offered, DATA, the reply
 * after the body, RSET for reuse, QUIT) and its texts are
 * appliance/smtp/client.ts's SmtpClientSession; this module writes its
 * lines, reads the replies, does the TLS upgrade (starttls.ts) and streams
 * the body (body_encoder.ts). Session outcomes: delivered/failed → its
 * records; next-mx (4xx/5xx greeting, docs/patches.md seed 002) → the next address; stale (a
 * reused connection failed before anything was attempted) → once more on a
 * fresh connection.
 */
import { findLocalBind, type Route } from "../../config/remote.ts";
import {
  type ClientResult,
  type ClientStep,
  SmtpClientSession,
  type SmtpMessage,
} from "../smtp/client.ts";
import { bindAddress, bindFailed, type OutgoingMessage, type TargetResult } from "./attempt.ts";
import { streamBody } from "./body_encoder.ts";
import { type ClientSocket, connectClient } from "./client_socket.ts";
import { poolKey } from "./connection_pool.ts";
import { ClientSocketError } from "./open_socket.ts";
import type { Target } from "./mx_choice.ts";
import { SmtpConnection } from "./pooled_connection.ts";
import type { RemoteContext } from "./remote_context.ts";
import { upgradeToTls } from "./starttls.ts";
import type { TargetTls } from "./target_tls.ts";
import { noteTlsOutcome } from "./tls_session_report.ts";
import { needsSmtpUtf8 } from "../smtp/smtputf8.ts";

/**
 * SMTP to one address with the TLS target_tls.ts chose for it: a pooled
 * connection when one is idle, else a fresh one; the records, or "next"
 * when it could not be connected to.
 */
export async function trySmtpTarget(
  target: Target,
  route: Route,
  message: OutgoingMessage,
  helo: string,
  ctx: RemoteContext,
  tls: TargetTls,
): Promise<TargetResult> {
  const { ip } = target;
  const bind = findLocalBind(ctx.controls, message.job.sender, ip);
  if (bind.kind === "refuse") return "next";
  const tlsWanted = tls.policy.mode !== "off";
  const key = poolKey(ip, route.port, tlsWanted, route.auth?.user) + tls.poolTag;
  const envelope: SmtpMessage = {
    sender: message.sender,
    recipients: message.recipients,
    // SIZE= as sent, CR LF line ends (RFC 1870); BODY=8BITMIME for 8-bit bytes (RFC 6152).
    size: message.wire?.size ?? message.size,
    ...(message.wire?.eightBit ? { eightBit: true } : {}),
    smtpUtf8: needsSmtpUtf8(message.sender, message.recipients),
  };
  const slot = await ctx.pool.acquire(`${ip}:${route.port}`);
  try {
    const reused = ctx.pool.take(key);
    if (reused !== undefined) {
      // Made under the same policy (the pool key says so): its TLS outcome counts again.
      if (reused.socket.tls) {
        noteTlsOutcome(tls.report, target, { ok: true, verifyError: reused.socket.verifyError });
      }
      const result = await runDialogue(
        reused,
        reused.session.nextMessage(envelope),
        message,
        target,
        tls,
        ctx,
      );
      // stale: nothing was attempted on the reused connection; once more on a fresh one.
      if (result.outcome !== "stale") return finish(reused, key, result, ctx);
      reused.socket.destroy();
    }
    let socket: ClientSocket;
    try {
      socket = await connectClient({
        ip,
        port: route.port,
        localAddress: bindAddress(bind),
        timeoutMs: ctx.controls.timeoutConnect * 1000,
      });
    } catch (error) {
      const kind = error instanceof ClientSocketError ? error.kind : "other";
      if (kind === "bind") return { records: [bindFailed(bind)], nextMx: false };
      await ctx.tcpto.record(ip, kind === "timeout");
      return "next";
    }
    await ctx.tcpto.record(ip, false);
    const session = new SmtpClientSession({
      ip,
      heloHost: helo,
      tls: tls.policy,
      auth: route.auth,
      secAuthRemote: ctx.controls.secAuthRemote,
      message: envelope,
    });
    const connection = new SmtpConnection(socket, session, ctx.controls.timeoutRemote * 1000, ctx);
    const result = await runDialogue(connection, session.start(), message, target, tls, ctx);
    return finish(connection, key, result, ctx);
  } finally {
    slot.release();
  }
}

/** Parks a reusable connection, closes the others; the records for the caller. */
function finish(
  connection: SmtpConnection,
  key: string,
  result: ClientResult,
  ctx: RemoteContext,
): TargetResult {
  if (result.reusable) ctx.pool.put(key, connection);
  else connection.retire();
  return { records: result.records, nextMx: result.outcome === "next-mx" };
}

/** More steps than any dialogue needs (greeting, EHLO twice, TLS, AUTH, envelope, DATA). */
const MAX_STEPS = 64;

/**
 * Drives the session from `first` to its result (the protocol at the top of
 * appliance/smtp/client.ts): writes its lines, reads whole replies, does the
 * STARTTLS upgrade and streams the body when asked. Socket failures and
 * timeouts become session.connectionLost().
 */
async function runDialogue(
  connection: SmtpConnection,
  first: ClientStep,
  message: OutgoingMessage,
  target: Target,
  tls: TargetTls,
  ctx: RemoteContext,
): Promise<ClientResult> {
  const session = connection.session;
  let step = first;
  for (let count = 0; count < MAX_STEPS; count++) {
    if (step.done !== undefined) {
      // "QUIT" after a failure: sent without waiting for the reply (qmail).
      if (step.send.length > 0) await connection.send(step.send, step.sensitive).catch(() => {});
      return step.done;
    }
    try {
      if (step.send.length > 0) await connection.send(step.send, step.sensitive);
      if (step.startTls) {
        step = await upgradeToTls(connection, target, tls, ctx);
      } else if (step.streamBody) {
        await message.file.seek(0, Deno.SeekMode.Start);
        const sent = await streamBody(
          message.file,
          (bytes) => connection.socket.write(bytes, connection.timeoutMs),
        );
        step = sent === "sent" ? session.bodySent() : session.bodyFailed(sent);
      } else {
        step = session.reply(await connection.reply());
      }
    } catch (error) {
      if (!(error instanceof ClientSocketError)) throw error;
      step = session.connectionLost();
    }
  }
  connection.socket.destroy();
  throw new Error(`SMTP dialogue with ${connection.ip} did not finish`);
}
