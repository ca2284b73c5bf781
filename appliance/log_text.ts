/**
 * What untrusted text looks like in a log line: qmail-send's "safe" filter
 * (docs/queue-format.md §4.13) and qmd's escaping of control characters. Pure,
 * so the protocol cores can word their log effects with it (log.ts does the
 * logging).
 */

/** C0 controls, DEL and C1 controls (a client's bytes are read as Latin-1). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;
const NAMED_ESCAPES: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** `text` with every control character written as an escape: `\r`, `\x1b`, `\x9b`. */
export function escapeLogText(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(
    CONTROLS,
    (ch) => NAMED_ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** qmail-send's "safe" filter for untrusted text in log lines. */
export function safeLogText(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\n") out += "/";
    else if (code < 33 || code > 126 || ch === "%") out += "_";
    else out += ch;
  }
  return out;
}
