/**
 * How `qmd explain` and `qmd rules` print decisions: one session's trace as
 * readable text (who connected, what each check said and why, what was
 * queued), and a decision as one line. Pure. Client text goes through
 * escapeLogText, so nothing in a trace can reach the reader's terminal as a
 * control sequence.
 */
import type { Decision, RuleRef, SessionTrace } from "../filters/filter.ts";
import { escapeLogText } from "../log_text.ts";

/** Unix ms as `2026-12-02 13:45:01.123 UTC`. */
export function formatTraceTime(time: number): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC`;
}

/** A rule as `control/badmailfrom:3 "@spam.example"`, or the check's name alone. */
export function formatRuleRef(rule: RuleRef): string {
  let text = rule.source === undefined
    ? rule.check
    : `${rule.source}${rule.line !== undefined ? `:${rule.line}` : ""}`;
  if (rule.entry !== undefined) text += ` ${JSON.stringify(escapeLogText(rule.entry))}`;
  return text;
}

/**
 * One decision as one line: phase, check, verdict, what was checked, then
 * the rule and the reply when there are any.
 */
export function formatDecision(decision: Decision): string {
  const parts = [
    decision.phase.padEnd(7),
    decision.check.padEnd(12),
    decision.verdict.padEnd(9),
    escapeLogText(decision.input),
  ];
  let line = parts.join(" ");
  if (decision.rule !== undefined) line += `  rule ${formatRuleRef(decision.rule)}`;
  if (decision.reply !== undefined) {
    line += `  reply ${JSON.stringify(escapeLogText(decision.reply))}`;
  }
  if (decision.log !== undefined) line += `  log ${JSON.stringify(escapeLogText(decision.log))}`;
  return line;
}

/** The whole trace of one session, lines without line ends. */
export function formatTrace(trace: SessionTrace): string[] {
  const lines = [
    `session ${escapeLogText(trace.sessionId)} at ${formatTraceTime(trace.start)}`,
    `  client ${escapeLogText(trace.remoteIp)}${
      trace.remoteHost === undefined ? "" : ` (${escapeLogText(trace.remoteHost)})`
    }`,
    `  helo   ${trace.helo === undefined ? "(none)" : escapeLogText(trace.helo)}`,
  ];
  if (trace.decisions.length === 0) {
    lines.push("  decisions: none (no check was on for this session)");
  } else {
    lines.push(`  decisions (${trace.decisions.length}):`);
    for (const decision of trace.decisions) {
      lines.push(`    ${formatTraceTime(decision.time).slice(11, 23)} ${formatDecision(decision)}`);
    }
  }
  if (trace.messages.length === 0) {
    lines.push("  messages: none queued");
  } else {
    lines.push(`  messages (${trace.messages.length}):`);
    for (const message of trace.messages) {
      const id = message.messageId === undefined
        ? "no Message-ID"
        : `Message-ID ${escapeLogText(message.messageId)}`;
      lines.push(
        `    queued msg ${escapeLogText(message.queueId)} (${id}) from <${
          escapeLogText(message.sender)
        }> to ${message.recipients.map((r) => `<${escapeLogText(r)}>`).join(", ")}`,
      );
    }
  }
  return lines;
}
