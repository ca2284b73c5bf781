/**
 * The admin console as one Hono app: the gate (guard.ts: security headers,
 * login or token, CSRF) in front of every route, then the pages and their
 * JSON API twins, each area a sub-app mounted with app.route(), and the
 * embedded assets. The role serves it (roles/admin.ts); tests call
 * app.request() on it.
 */
import { Hono } from "hono";
import type { AdminContext, AdminEnv } from "./context.ts";
import { requireAdmission, requireCsrf, securityHeaders } from "./guard.ts";
import { ASSETS } from "./assets.ts";
import { loginRoutes } from "./login_routes.ts";
import { dashboardRoutes } from "./dashboard_routes.ts";
import { queueRoutes } from "./queue_routes.ts";
import { accountsRoutes } from "./accounts_routes.ts";
import { controlsRoutes } from "./controls_routes.ts";
import { logRoutes } from "./log_routes.ts";
import { traceRoutes } from "./trace_routes.ts";
import { metricsRoutes } from "./metrics_routes.ts";
import { MTA_STS_PATH, serveMtaStsPolicy } from "./mta_sts_route.ts";

export function createAdminApp(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  // This host's MTA-STS policy is public: it answers before the gate.
  app.get(MTA_STS_PATH, serveMtaStsPolicy(context));
  app.use("*", securityHeaders());
  app.use("*", requireAdmission(context));
  app.use("*", requireCsrf());
  app.get("/assets/:name", (c) => {
    const asset = ASSETS[c.req.param("name")];
    if (asset === undefined) return c.notFound();
    return c.body(asset.body, 200, { "Content-Type": asset.type });
  });
  for (
    const routes of [
      loginRoutes,
      dashboardRoutes,
      queueRoutes,
      accountsRoutes,
      controlsRoutes,
      logRoutes,
      traceRoutes,
      metricsRoutes,
    ]
  ) {
    app.route("/", routes(context));
  }
  return app;
}
