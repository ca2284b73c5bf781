/**
 * qmd's stress mode as the listener roles use it: the view of it a session
 * gets (client_wait.ts's ConnectionStress, read from the shared limits) and
 * the log lines when it begins and ends (connection_limits.ts decides when,
 * and logs each start at most once a minute).
 */
import type { StressControls } from "../../config/stress.ts";
import { logEvent } from "../log.ts";
import type { ConnectionStress } from "./client_wait.ts";
import type { ConnectionLimits, StressChange } from "./connection_limits.ts";

/** What a session of a role sharing `limits` sees of stress mode. */
export function connectionStress(
  limits: ConnectionLimits,
  controls: StressControls,
): ConnectionStress {
  return {
    active: () => limits.stressed(),
    seconds: controls.seconds,
    dataRate: controls.dataRate,
  };
}

/** What stress mode does with these controls, for the log line that says it began. */
function stressMeasures(controls: StressControls): string {
  const measures = [
    controls.seconds > 0 ? `clients get ${controls.seconds} s to talk` : "",
    controls.dataRate > 0 ? `transfers must average ${controls.dataRate} bytes/s` : "",
    controls.perIp > 0 ? `new sessions only from IPs holding fewer than ${controls.perIp}` : "",
  ].filter((measure) => measure !== "");
  return measures.length === 0 ? "stress mode is off" : measures.join(", ");
}

/** `warning: smtpd under connection stress: 160 of 200 sessions in use; …` and its end. */
export function logStressChange(
  role: "smtpd" | "pop3d",
  change: StressChange,
  controls: StressControls,
): void {
  const use = `${change.inUse} of ${change.maxTotal} sessions in use`;
  const event = role === "smtpd" ? "smtp_stress" : "pop3_stress";
  const fields = { stressed: change.stressed, inUse: change.inUse, maxTotal: change.maxTotal };
  if (change.stressed) {
    logEvent(
      event,
      `warning: ${role} under connection stress: ${use}; ${stressMeasures(controls)}`,
      fields,
    );
  } else {
    logEvent(event, `${role} connection stress over: ${use}`, fields);
  }
}
