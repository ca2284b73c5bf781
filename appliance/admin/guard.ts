/**
 * The console's gate, as Hono middleware: security headers on every
 * answer; no page or API route without a login session (the HttpOnly,
 * SameSite=Strict cookie) or an API bearer token (`qmd admin token`);
 * /metrics also open to loopback clients; and a CSRF token on every
 * state-changing request made with the cookie (the form's `_csrf` field or
 * the X-CSRF-Token header). Token requests carry no cookie, so a forged
 * cross-site request cannot use them.
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { timingSafeEqual } from "node:crypto";
import { findAdminToken } from "./admin_state.ts";
import type { AdminContext, AdminEnv } from "./context.ts";
import { isLoopbackClient } from "./context.ts";

/** The session cookie's name. */
export const SESSION_COOKIE = "qmd_admin";

/** The paths that answer without a login: the login page and its POST, the stylesheet. */
const OPEN_PATHS = new Set(["/login", "/assets/style.css"]);

/**
 * CSP without inline script or style; no framing; nothing sniffed, no
 * referrer, nothing cached.
 */
export function securityHeaders(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    await next();
    c.header(
      "Content-Security-Policy",
      "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; " +
        "object-src 'none'",
    );
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
    c.header("Cache-Control", "no-store");
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Lets in a session, a token, or (for /metrics) a loopback client; refuses everything else. */
export function requireAdmission(context: AdminContext): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (OPEN_PATHS.has(path)) return await next();
    const authorization = c.req.header("authorization") ?? "";
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    if (bearer !== undefined) {
      const name = findAdminToken(context.home, bearer);
      if (name === undefined) return c.json({ error: "unknown token" }, 401);
      c.set("admission", { via: "token", name });
      return await next();
    }
    const session = context.sessions.find(getCookie(c, SESSION_COOKIE), context.now());
    if (session !== undefined) {
      c.set("admission", { via: "session", session });
      return await next();
    }
    if (path === "/metrics" && isLoopbackClient(c)) {
      c.set("admission", { via: "loopback" });
      return await next();
    }
    if (path.startsWith("/api/") || path === "/metrics") {
      return c.json({ error: "log in or give a bearer token" }, 401);
    }
    return c.redirect("/login", 303);
  };
}

/** A state-changing request made with the session cookie must carry the session's CSRF token. */
export function requireCsrf(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const admission = c.get("admission");
    if (["GET", "HEAD"].includes(c.req.method) || admission?.via !== "session") {
      return await next();
    }
    let given = c.req.header("x-csrf-token");
    const type = c.req.header("content-type") ?? "";
    if (given === undefined && !type.includes("application/json")) {
      const field = (await c.req.parseBody())["_csrf"];
      if (typeof field === "string") given = field;
    }
    if (given === undefined || !sameSecret(given, admission.session.csrf)) {
      return c.json({ error: "missing or wrong CSRF token" }, 403);
    }
    return await next();
  };
}
