/**
 * GET /metrics in Prometheus's text format, through prom-client: the queue
 * by state (read now), and from the counters (log_counters.ts) deliveries,
 * bounces and deferrals by channel, refusals by reason, sessions and TLS
 * sessions by listener, role restarts and failed logins. It answers a
 * session or a bearer token, or a client on loopback (guard.ts).
 */
import { Hono } from "hono";
import { Counter, Gauge, Registry } from "prom-client";
import type { AdminContext, AdminEnv } from "./context.ts";

/** The metrics text for these numbers. */
export async function formatMetrics(
  context: AdminContext,
): Promise<{ type: string; text: string }> {
  const registry = new Registry();
  const queue = new Gauge({
    name: "qmd_queue_messages",
    help: "Messages in the queue by state (messages: all in mess/; todo: not yet preprocessed)",
    labelNames: ["state"],
    registers: [registry],
  });
  for (const [state, count] of Object.entries(context.queue.states())) queue.set({ state }, count);
  const counters = context.counters();
  const counted = (name: string, help: string, label: string, counts: Record<string, number>) => {
    const metric = new Counter({ name, help, labelNames: [label], registers: [registry] });
    for (const [key, count] of Object.entries(counts)) metric.inc({ [label]: key }, count);
  };
  counted(
    "qmd_deliveries_total",
    "Successful deliveries by channel",
    "channel",
    counters.deliveries,
  );
  counted(
    "qmd_bounces_total",
    "Permanent delivery failures (bounced recipients) by channel",
    "channel",
    counters.bounces,
  );
  counted("qmd_deferrals_total", "Deferred deliveries by channel", "channel", counters.deferrals);
  counted(
    "qmd_refusals_total",
    "SMTP refusals by command and reply code",
    "reason",
    counters.refusals,
  );
  counted("qmd_sessions_total", "Sessions by listener", "listener", counters.sessions);
  counted(
    "qmd_tls_sessions_total",
    "Sessions that started TLS by listener",
    "listener",
    counters.tls,
  );
  counted(
    "qmd_role_restarts_total",
    "Role isolates restarted after a crash",
    "role",
    counters.restarts,
  );
  counted(
    "qmd_auth_failures_total",
    "Failed logins (SMTP AUTH, POP3, the admin console) by event",
    "event",
    counters.authFailures,
  );
  return { type: registry.contentType, text: await registry.metrics() };
}

export function metricsRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.get("/metrics", async (c) => {
    const { type, text } = await formatMetrics(context);
    return c.body(text, 200, { "Content-Type": type });
  });
  return app;
}
