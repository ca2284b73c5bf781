/**
 * How much of the decision trace smtpd keeps (appliance/trace/store.ts):
 * control/tracedays, the days of trace files kept, today's included (0: no
 * trace is recorded), and control/tracemaxbytes, the most all of them may
 * hold together. qmd's own files: the trace is qmd's.
 */
import { readControlNumber } from "./control.ts";

export interface TraceControls {
  /** Days of trace files kept; 0: none recorded. */
  keepDays: number;
  /** The most all trace files together may hold, in bytes. */
  maxBytes: number;
}

export function loadTraceControls(home: string): TraceControls {
  return {
    keepDays: Math.max(0, readControlNumber(home, "tracedays")),
    maxBytes: Math.max(1, readControlNumber(home, "tracemaxbytes")),
  };
}
