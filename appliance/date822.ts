/**
 * qmail's RFC 822 date (date822fmt.c), as the Received lines of qmail-queue
 * and qmail-smtpd, qmail-inject's Date field, bounces and qmail-qread print
 * it (docs/queue-format.md §3.3). Pure: the date is passed in.
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
