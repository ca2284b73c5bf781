/**
 * The live log: the supervisor's log records as server-sent events
 * (GET /api/log/stream), the recent ones first, filtered by session id,
 * queue id and check (log_hub.ts), and the page that shows them
 * (assets/live_log.js opens the stream with the page's filters).
 * GET /api/log answers the recent records as JSON.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import { streamSSE } from "hono/streaming";
import type { LogRecord } from "../log.ts";
import type { AdminContext, AdminEnv, AdminRequest } from "./context.ts";
import { csrfOf } from "./context.ts";
import { type LogFilter, matchesFilter } from "./log_hub.ts";
import { page } from "./html.ts";

/** How many recent records a new stream starts with. */
const REPLAYED = 100;
/** A comment line this often tells a dead client from a quiet log. */
const HEARTBEAT_MS = 15_000;

function filterOf(c: AdminRequest): LogFilter {
  return {
    session: c.req.query("session")?.trim(),
    msg: c.req.query("msg")?.trim(),
    check: c.req.query("check")?.trim(),
  };
}

export function logRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.get("/api/log", (c) => c.json(context.log.recent(filterOf(c))));

  app.get("/api/log/stream", (c) => {
    const filter = filterOf(c);
    return streamSSE(c, async (stream) => {
      const waiting: LogRecord[] = [];
      let closed = false;
      let wake: (() => void) | undefined;
      const stop = context.log.listen((record) => {
        if (record === null) closed = true;
        else if (matchesFilter(record, filter)) waiting.push(record);
        wake?.();
      });
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      try {
        for (const record of context.log.recent(filter).slice(-REPLAYED)) {
          await stream.writeSSE({ data: JSON.stringify(record) });
        }
        while (!closed) {
          if (waiting.length === 0) {
            let timer: ReturnType<typeof setTimeout> | undefined;
            await new Promise<void>((resolve) => {
              wake = resolve;
              timer = setTimeout(resolve, HEARTBEAT_MS);
            });
            clearTimeout(timer);
            wake = undefined;
            if (waiting.length === 0 && !closed) await stream.write(": heartbeat\n\n");
          }
          for (const record of waiting.splice(0)) {
            await stream.writeSSE({ data: JSON.stringify(record) });
          }
        }
      } finally {
        stop();
      }
    });
  });

  app.get("/log", (c) => {
    const filter = filterOf(c);
    const body = html`<form method="get" action="/log">
<label>session <input name="session" value="${filter.session ?? ""}" placeholder="2.17"></label>
<label>queue id <input name="msg" value="${filter.msg ?? ""}"></label>
<label>check <input name="check" value="${filter.check ?? ""}" placeholder="badmailfrom"></label>
<button>Filter</button></form>
<pre id="log"></pre>`;
    return c.html(page("Live log", csrfOf(c), body, ["live_log.js"]));
  });

  return app;
}
