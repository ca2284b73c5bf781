/**
 * Reading a server's reply (RFC 5321 §4.2): where a multi-line reply ends,
 * and its three-digit code, as qmail-remote reads them.
 */

/** Whether a reply line is the last of its reply (no "-" as the fourth character). */
export function isLastReplyLine(line: string): boolean {
  return line.charAt(3) !== "-";
}

/** The reply's code: the first three characters of its first line; not digits → 451. */
export function replyCode(lines: string[]): number {
  const head = (lines[0] ?? "").slice(0, 3);
  return /^\d{3}$/.test(head) ? Number(head) : 451;
}
