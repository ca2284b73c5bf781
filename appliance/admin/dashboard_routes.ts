/**
 * The dashboard: the queue now and over the last hour, deliveries,
 * deferrals and bounces per minute, refusals by reason, sessions and the
 * share of them that used TLS, role restarts and failed logins, drawn as
 * inline SVG from the appliance's own counters (log_counters.ts). The API
 * twin, GET /api/dashboard, answers the same numbers as JSON.
 */
import { Hono } from "hono";
import { html, raw } from "hono/html";
import type { AdminContext, AdminEnv } from "./context.ts";
import { csrfOf } from "./context.ts";
import { page } from "./html.ts";
import { barChart, lineChart } from "./charts.ts";
import { type MinuteCounts, MINUTES_KEPT } from "../log_counters.ts";

function sum(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}

/** One value per minute of the last hour, 0 for a minute without activity. */
export function perMinute(
  minutes: readonly MinuteCounts[],
  name: keyof Omit<MinuteCounts, "minute">,
  now: number,
): number[] {
  const current = Math.floor(now / 60_000);
  const byMinute = new Map(minutes.map((entry) => [entry.minute, entry[name]]));
  return Array.from(
    { length: MINUTES_KEPT },
    (_, i) => byMinute.get(current - MINUTES_KEPT + 1 + i) ?? 0,
  );
}

export function dashboardRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  const data = () => {
    const counters = context.counters();
    const now = context.now();
    return {
      queue: context.queue.states(),
      queueSamples: [...context.queue.samples()],
      counters,
      perMinute: {
        deliveries: perMinute(counters.minutes, "deliveries", now),
        deferrals: perMinute(counters.minutes, "deferrals", now),
        bounces: perMinute(counters.minutes, "bounces", now),
      },
    };
  };

  app.get("/api/dashboard", (c) => c.json(data()));

  app.get("/", (c) => {
    const { queue, queueSamples, counters, perMinute } = data();
    const sessions = sum(counters.sessions);
    const tls = sum(counters.tls);
    const share = sessions === 0 ? 0 : Math.round((tls / sessions) * 100);
    const counter = (name: string, value: number | string) =>
      html`<div class="counter">${name}<b>${value}</b></div>`;
    const body = html`<div class="counters">
${counter("queued", queue.messages)} ${counter("not yet preprocessed", queue.todo)}
${counter("deliveries", sum(counters.deliveries))} ${counter("deferrals", sum(counters.deferrals))}
${counter("bounces", sum(counters.bounces))} ${counter("refusals", sum(counters.refusals))}
${counter("sessions", sessions)} ${counter("TLS share", `${share}%`)}
${counter("role restarts", sum(counters.restarts))}
${counter("auth failures", sum(counters.authFailures))}
</div>
<p>Counted since ${new Date(counters.since).toISOString()}.</p>
<div class="charts">
${raw(lineChart("queue size (one sample a minute)", queueSamples))}
${raw(lineChart("deliveries per minute", perMinute.deliveries))}
${raw(lineChart("deferrals per minute", perMinute.deferrals))}
${raw(lineChart("bounces per minute", perMinute.bounces))}
${raw(barChart("refusals by reason", counters.refusals))}
${raw(barChart("sessions by listener", counters.sessions))}
${raw(barChart("TLS sessions by listener", counters.tls))}
</div>`;
    return c.html(page("Dashboard", csrfOf(c), body));
  });

  return app;
}
