/**
 * A QMTP attempt on one address (qmtproutes, and qmtpc's QMTP-first; docs/patches.md seed 000's
 * qmtpc patch): a
 * place in the pool's per-destination bound, the local bind, the message
 * through qmtp_client.ts, and the connection's outcome in the tcpto table.
 */
import { findLocalBind, type Route } from "../../config/remote.ts";
import { bindAddress, bindFailed, type OutgoingMessage, type TargetResult } from "./attempt.ts";
import type { Target } from "./mx_choice.ts";
import { deliverQmtp } from "./qmtp_client.ts";
import type { RemoteContext } from "./remote_context.ts";
import { readTlsPin } from "./starttls.ts";

/**
 * qmtpc (docs/patches.md seed 000's qmtpc patch, behind qmd's control/qmtpc): the QMTP route to
 * try first on `target` in an SMTP delivery by MX (no relay named), or undefined. QMTP has no
 * TLS, so never where TLS is wanted: not with tlsremote, not for a host tlshosts/ pins.
 */
export function qmtpFirstRoute(
  route: Route,
  target: Target,
  ctx: Pick<RemoteContext, "controls" | "home">,
): Route | undefined {
  const { controls } = ctx;
  if (!controls.qmtpc || controls.tlsRemote) return undefined;
  if (route.kind !== "smtp" || route.relay !== undefined) return undefined;
  if (readTlsPin(ctx.home, target.host) !== undefined) return undefined;
  return { kind: "qmtp", port: controls.qmtpcPort, source: route.source };
}

/**
 * QMTP to one address: the records, or "next" when it could not be connected
 * to. A `probe` (qmtpc) that finds no QMTP server leaves the tcpto table alone:
 * the address may still take SMTP.
 */
export async function tryQmtpTarget(
  target: Target,
  route: Route,
  message: OutgoingMessage,
  ctx: RemoteContext,
  probe = false,
): Promise<TargetResult> {
  const { ip } = target;
  const bind = findLocalBind(ctx.controls, message.job.sender, ip);
  if (bind.kind === "refuse") return "next";
  const slot = await ctx.pool.acquire(`${ip}:${route.port}`);
  try {
    const outcome = await deliverQmtp({
      ip,
      port: route.port,
      localAddress: bindAddress(bind),
      connectTimeoutMs: ctx.controls.timeoutConnect * 1000,
      timeoutMs: ctx.controls.timeoutRemote * 1000,
      file: message.file,
      size: message.size,
      sender: message.sender,
      recipients: message.recipients,
    });
    if (outcome.kind === "unconnected") {
      if (outcome.failure === "bind") return { records: [bindFailed(bind)], nextMx: false };
      if (!probe) await ctx.tcpto.record(ip, outcome.failure === "timeout");
      return "next";
    }
    await ctx.tcpto.record(ip, false);
    return { records: outcome.records, nextMx: false };
  } finally {
    slot.release();
  }
}
