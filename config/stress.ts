/**
 * qmd's stress mode (README, "Stress mode"): what changes for smtpd
 * or pop3d while 80 % of its concurrencyincoming sessions are in use. Read
 * with each role's other controls, as plain data.
 */
import { readControlNumber } from "./control.ts";

export interface StressControls {
  /** control/concurrencyperipstress: sessions one IP may hold under stress; 0 = no such limit. */
  perIp: number;
  /** control/timeoutstress: seconds the server waits for a client under stress; 0 = as usual. */
  seconds: number;
  /**
   * control/dataratestress: bytes a second a transfer must average under
   * stress (SMTP DATA, and output such as a POP3 RETR); 0 = no rate.
   */
  dataRate: number;
}

export function loadStressControls(home: string): StressControls {
  return {
    perIp: readControlNumber(home, "concurrencyperipstress"),
    seconds: readControlNumber(home, "timeoutstress"),
    dataRate: readControlNumber(home, "dataratestress"),
  };
}
