/**
 * Logging in and out of the console. The login form carries its own CSRF
 * token (a random value in a short-lived SameSite=Strict cookie and in the
 * form, which must match), so no other site can log a browser in. Failed
 * logins count per IP (login_guard.ts): a locked-out IP is refused without
 * the password being checked. Each failure is logged (never the password),
 * and the counters count it as an auth failure.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { randomBytes } from "node:crypto";
import { logEvent } from "../log.ts";
import { verifyAdminPassword } from "./admin_state.ts";
import { type AdminContext, type AdminEnv, clientIp, readInput } from "./context.ts";
import { SESSION_COOKIE } from "./guard.ts";
import { IDLE_MS } from "./session_store.ts";
import { notice } from "./html.ts";

const LOGIN_CSRF_COOKIE = "qmd_login";

function loginPage(token: string, error?: string) {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <title>Log in · qmd</title>
        <link rel="stylesheet" href="/assets/style.css">
      </head>
      <body>
        <main class="login">
    <h1>qmd admin</h1>
    ${notice("error", error)}
    <form method="post" action="/login">
    <input type="hidden" name="_csrf" value="${token}">
    <p><label>Password <input type="password" name="password" autocomplete="current-password" autofocus required></label></p>
    <p><button>Log in</button></p>
    </form>
        </main>
      </body>
    </html>
  `;
}

export function loginRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const cookieOptions = {
    httpOnly: true,
    sameSite: "Strict" as const,
    path: "/",
    secure: context.secure,
  };

  app.get("/login", (c) => {
    // A second GET (another tab, or the browser's /favicon.ico sent here) keeps the token,
    // so the form already shown still matches the cookie.
    const kept = getCookie(c, LOGIN_CSRF_COOKIE);
    const token = kept !== undefined && /^[A-Za-z0-9_-]{32}$/.test(kept)
      ? kept
      : randomBytes(24).toString("base64url");
    setCookie(c, LOGIN_CSRF_COOKIE, token, { ...cookieOptions, maxAge: 600 });
    return c.html(loginPage(token));
  });

  app.post("/login", async (c) => {
    const ip = clientIp(c);
    const now = context.now();
    const input = await readInput(c);
    const expected = getCookie(c, LOGIN_CSRF_COOKIE);
    if (expected === undefined || input._csrf !== expected) {
      return c.json({ error: "missing or wrong CSRF token" }, 403);
    }
    const locked = context.logins.lockedUntil(ip, now);
    if (locked !== undefined) {
      logEvent("admin_login_locked", `admin: login refused for ${ip}: locked out`, { remote: ip });
      c.header("Retry-After", String(Math.ceil((locked - now) / 1000)));
      return c.html(loginPage(expected, "Too many failed logins: try again later."), 429);
    }
    if (!(await verifyAdminPassword(context.home, input.password ?? ""))) {
      const nowLocked = context.logins.failed(ip, now);
      logEvent("admin_login_failed", `admin: login failed from ${ip}`, { remote: ip });
      const message = nowLocked ? "Too many failed logins: try again later." : "Wrong password.";
      return c.html(loginPage(expected, message), nowLocked ? 429 : 401);
    }
    context.logins.succeeded(ip);
    const session = context.sessions.create(now);
    deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/" });
    setCookie(c, SESSION_COOKIE, session.id, { ...cookieOptions, maxAge: IDLE_MS / 1000 });
    logEvent("admin_login", `admin: login from ${ip}`, { remote: ip });
    return c.redirect("/", 303);
  });

  app.post("/logout", (c) => {
    const admission = c.get("admission");
    if (admission?.via === "session") context.sessions.remove(admission.session.id);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login", 303);
  });

  return app;
}
