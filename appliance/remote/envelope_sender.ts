/**
 * BATV (docs/patches.md seed 001): with control/signkey set, the envelope sender is signed
 * (prvs=, appliance/send/batv.ts) for SMTP and QMTP unless nosignhosts/
 * nosignmydoms say otherwise. Routes and the local bind use the unsigned one.
 */
import type { RemoteControls } from "../../config/remote.ts";
import { batvDay, shouldSign, signSender } from "../send/batv.ts";

/**
 * The envelope sender as sent: BATV-signed (docs/patches.md seed 001 signkey) when a signkey
 * is set and shouldSign() allows it for this recipient domain, valid until
 * today + signkeystale days; otherwise unchanged.
 */
export function envelopeSender(
  sender: string,
  recipientDomain: string,
  controls: RemoteControls,
  nowMs: number,
): string {
  if (controls.signKey === null || !shouldSign(sender, recipientDomain, controls)) return sender;
  return signSender(sender, controls.signKey, batvDay(nowMs) + controls.signKeyStale);
}
