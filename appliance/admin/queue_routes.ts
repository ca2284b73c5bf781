/**
 * The queue: counts by state, the messages (the send role's `list`,
 * searched by sender or recipient and state), one message's envelope and
 * header (`show`), and retry, bounce, remove, hold and release on one
 * message or, as a bulk job (bulk_jobs.ts), on the selected ones, one at a
 * time with its progress shown. Every request goes through the supervisor
 * to the send role, the same engine `qmd queue` uses (queue_requests.ts).
 * Pages are in queue_pages.ts; the API answers JSON.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import type { AdminContext, AdminEnv, AdminRequest } from "./context.ts";
import { csrfOf } from "./context.ts";
import { page } from "./html.ts";
import type { QueueReply } from "../queue/control_request.ts";
import { askQueue, changeRequest } from "./queue_requests.ts";
import { parseSearch, searchMessages } from "./queue_search.ts";
import { type BulkJob, BulkJobs } from "./bulk_jobs.ts";
import { jobPage, messagePage, queuePage } from "./queue_pages.ts";

/** What a change request carries: the action, the messages, a bounce's reason. */
interface ChangeInput {
  action: string;
  ids: string[];
  reason?: string;
  /** Forms: where to go back to (`list`, else the message's page). */
  back?: string;
}

/** The change a form (repeated `id` fields) or a JSON body (`ids`) asks for. */
async function readChange(c: AdminRequest, action?: string): Promise<ChangeInput> {
  const type = c.req.header("content-type") ?? "";
  const strings = (value: unknown): string[] =>
    (Array.isArray(value) ? value : value === undefined ? [] : [value])
      .filter((each): each is string => typeof each === "string");
  if (type.includes("application/json")) {
    const body = await c.req.json().catch(() => ({}));
    return {
      action: action ?? String(body?.action ?? ""),
      ids: strings(body?.ids ?? body?.id),
      reason: typeof body?.reason === "string" ? body.reason : undefined,
    };
  }
  const form = await c.req.parseBody({ all: true });
  const one = (name: string) => strings(form[name])[0];
  return {
    action: action ?? one("action") ?? "",
    ids: strings(form.id),
    reason: one("reason"),
    back: one("back"),
  };
}

/** A job as the API shows it. */
function jobJson(job: BulkJob) {
  return {
    id: job.id,
    action: job.action,
    total: job.ids.length,
    done: job.results.length,
    finished: job.finished,
    results: job.results,
  };
}

/** The results of a change as one line for a notice. */
function describeResults(reply: QueueReply): { ok: boolean; text: string } {
  if (reply.error !== undefined) return { ok: false, text: reply.error };
  const results = reply.results ?? [];
  return {
    ok: results.every((result) => result.ok),
    text: results.map((result) => `#${result.id}: ${result.text}`).join("; "),
  };
}

export function queueRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const jobs = new BulkJobs();

  /** The send role's list, searched as the query asks. */
  const listed = async (c: AdminRequest) => {
    const search = parseSearch({ q: c.req.query("q"), state: c.req.query("state") });
    const reply = await askQueue(context, { action: "list" });
    return { search, reply, messages: searchMessages(reply.messages ?? [], search) };
  };

  /** Starts a bulk job, or says why the input is not a change. */
  const startJob = (input: ChangeInput): BulkJob | string => {
    const request = changeRequest(input.action, input.ids, input.reason);
    if (typeof request === "string") return request;
    return jobs.start(input.action, input.ids, async (id) => {
      const single = changeRequest(input.action, [id], input.reason) as typeof request;
      const reply = await askQueue(context, single);
      return reply.results?.[0] ?? { id, ok: false, text: reply.error ?? "no result" };
    });
  };

  app.get("/api/queue", async (c) => {
    const { reply, messages } = await listed(c);
    return c.json({
      states: context.queue.states(),
      qread: context.queue.listing(),
      by: reply.by,
      messages,
      ...reply.error !== undefined && { error: reply.error },
    });
  });

  app.get("/api/queue/messages/:id", async (c) => {
    const request = { action: "show", id: c.req.param("id") } as const;
    const reply = await askQueue(context, request);
    if (reply.message === undefined) return c.json({ error: reply.error ?? "not found" }, 404);
    return c.json(reply.message);
  });

  app.post("/api/queue/jobs", async (c) => {
    const job = startJob(await readChange(c));
    return typeof job === "string" ? c.json({ error: job }, 400) : c.json(jobJson(job), 202);
  });

  app.get("/api/queue/jobs/:job", (c) => {
    const job = jobs.find(c.req.param("job"));
    return job === undefined ? c.json({ error: "no such job" }, 404) : c.json(jobJson(job));
  });

  app.post("/api/queue/:action", async (c) => {
    const input = await readChange(c, c.req.param("action"));
    const request = changeRequest(input.action, input.ids, input.reason);
    if (typeof request === "string") return c.json({ error: request }, 400);
    const reply = await askQueue(context, request);
    if (reply.error !== undefined) return c.json({ error: reply.error }, 503);
    return c.json({ by: reply.by, results: reply.results ?? [] });
  });

  app.get("/queue", async (c) => {
    const { search, reply, messages } = await listed(c);
    const body = queuePage({
      csrf: csrfOf(c),
      states: context.queue.states(),
      qread: context.queue.listing(),
      search,
      reply,
      messages,
      ok: c.req.query("ok"),
      error: c.req.query("error"),
    });
    return c.html(page("Queue", csrfOf(c), body));
  });

  app.get("/queue/message/:id", async (c) => {
    const reply = await askQueue(context, { action: "show", id: c.req.param("id") });
    const body = messagePage(csrfOf(c), reply, c.req.query("ok"), c.req.query("error"));
    return c.html(page("Message", csrfOf(c), body), reply.message === undefined ? 404 : 200);
  });

  app.post("/queue/action", async (c) => {
    const input = await readChange(c);
    const request = changeRequest(input.action, input.ids, input.reason);
    const outcome = typeof request === "string"
      ? { ok: false, text: request }
      : describeResults(await askQueue(context, request));
    const query = `${outcome.ok ? "ok" : "error"}=${encodeURIComponent(outcome.text)}`;
    const gone = outcome.ok && (input.action === "remove" || input.action === "bounce");
    if (input.back === "list" || gone || input.ids.length !== 1) {
      return c.redirect(`/queue?${query}`, 303);
    }
    return c.redirect(`/queue/message/${encodeURIComponent(input.ids[0])}?${query}`, 303);
  });

  app.post("/queue/bulk", async (c) => {
    const job = startJob(await readChange(c));
    if (typeof job === "string") return c.redirect(`/queue?error=${encodeURIComponent(job)}`, 303);
    return c.redirect(`/queue/jobs/${job.id}`, 303);
  });

  app.get("/queue/jobs/:job", (c) => {
    const job = jobs.find(c.req.param("job"));
    if (job === undefined) return c.html(page("Bulk action", csrfOf(c), html`No such job.`), 404);
    return c.html(
      page("Bulk action", csrfOf(c), jobPage(job), job.finished ? [] : ["bulk_progress.js"]),
    );
  });

  return app;
}
