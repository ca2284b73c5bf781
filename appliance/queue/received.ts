/**
 * The Received line qmail-queue puts on top of every message (qmail-formats.md
 * §3.3) and qmail's RFC 822 date format. Pure: the date is passed in.
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * qmail's date822fmt without its trailing LF: `D Mon YYYY HH:MM:SS -0000`,
 * always UTC, day of month not padded (§3.3).
 */
export function formatDate822(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} -0000`;
}

/**
 * `Received: (qmail PID invoked WHO); DATE\n` (§3.3). WHO is "from network",
 * "for bounce", "by alias" or "by uid N".
 */
export function formatQueueReceived(pid: number | string, who: string, date: Date): string {
  return `Received: (qmail ${pid} invoked ${who}); ${formatDate822(date)}\n`;
}
