/**
 * The Received line qmail-queue puts on top of every message (docs/queue-format.md
 * §3.3). Pure: the date is passed in.
 */
import { formatDate822 } from "../date822.ts";

/**
 * `Received: (qmail PID invoked WHO); DATE\n` (§3.3). WHO is "from network",
 * "for bounce", "by alias" or "by uid N".
 */
export function formatQueueReceived(pid: number | string, who: string, date: Date): string {
  return `Received: (qmail ${pid} invoked ${who}); ${formatDate822(date)}\n`;
}
