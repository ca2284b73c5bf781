/**
 * An error as the send role's warnings word it: the message, then those of
 * its causes (qmail's `warning: …` lines, docs/queue-format.md §4.13).
 */

/** An error's own message. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error's message followed by those of its causes. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current !== undefined && parts.length < 5;) {
    parts.push(errorText(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}
