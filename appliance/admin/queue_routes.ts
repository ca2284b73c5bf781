/**
 * The queue, read only: counts by state and qmail-qread's listing of every
 * message (queue_view.ts). Changing the queue is the queue commands' job.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import type { AdminContext, AdminEnv } from "./context.ts";
import { csrfOf } from "./context.ts";
import { page } from "./html.ts";

export function queueRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.get(
    "/api/queue",
    (c) => c.json({ states: context.queue.states(), qread: context.queue.listing() }),
  );

  app.get("/queue", (c) => {
    const states = context.queue.states();
    const body = html`
      <table>
        <tr>${Object.keys(states).map((name) => html`<th>${name}</th>`)}</tr>
        <tr>${Object.values(states).map((count) => html`<td>${count}</td>`)}</tr>
      </table>
      <h2>Messages (qmail-qread)</h2>
      <pre>${context.queue.listing() || "The queue is empty."}</pre>
    `;
    return c.html(page("Queue", csrfOf(c), body));
  });

  return app;
}
