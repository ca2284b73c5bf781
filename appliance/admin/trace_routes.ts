/**
 * The decision trace of a session or message, as `qmd explain` shows it:
 * the traces the policy checks recorded (trace/store.ts's findTraces),
 * formatted by trace/explain_format.ts. GET /api/trace answers the traces
 * as JSON (what `qmd explain --json` prints).
 */
import { Hono } from "hono";
import { html } from "hono/html";
import { findTraces, TRACE_KEEP_DAYS } from "../trace/store.ts";
import { formatTrace } from "../trace/explain_format.ts";
import type { AdminContext, AdminEnv } from "./context.ts";
import { csrfOf } from "./context.ts";
import { page } from "./html.ts";

const LIMIT = 20;

export function traceRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.get("/api/trace", async (c) => {
    const id = c.req.query("id")?.trim() ?? "";
    if (id === "") return c.json({ error: "give ?id=SESSION-ID, QUEUE-ID or MESSAGE-ID" }, 400);
    return c.json(await findTraces(context.home, id, LIMIT));
  });

  app.get("/trace", async (c) => {
    const id = c.req.query("id")?.trim() ?? "";
    const traces = id === "" ? [] : await findTraces(context.home, id, LIMIT);
    const found = id === ""
      ? ""
      : traces.length === 0
      ? html`<p>No session, queue id or Message-ID ${id} in the traces (kept ${TRACE_KEEP_DAYS} days).</p>`
      : traces.map((trace) => html`<pre>${formatTrace(trace).join("\n")}</pre>`);
    const body = html`<form method="get" action="/trace">
<label>session id, queue id or Message-ID <input name="id" value="${id}" required></label>
<button>Explain</button></form>${found}`;
    return c.html(page("Decision trace", csrfOf(c), body));
  });

  return app;
}
