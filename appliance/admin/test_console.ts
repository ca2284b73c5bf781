/**
 * A console for tests: a small home (control/me, rcpthosts, the queue), the app built on a
 * context the test controls (counters, log records, reloads counted, a
 * clock), and a browser-like login that keeps the session cookie and the
 * page's CSRF token, all through app.request().
 */
import { makeTestQueue } from "../queue/test_queue.ts";
import { setAdminPassword } from "./admin_state.ts";
import { createAdminApp } from "./app.ts";
import type { AdminContext } from "./context.ts";
import { type CounterSnapshot, LogCounters } from "../log_counters.ts";
import { LogHub } from "./log_hub.ts";
import { LoginGuard } from "./login_guard.ts";
import { SessionStore } from "./session_store.ts";
import { QueueSampler } from "./queue_view.ts";
import { applyAdminRequest, type QueueCarrier } from "./admin_writes.ts";
import { type LogRecord, setLogSink } from "../log.ts";

/** Without a carrier: every queue request fails, as with no send role. */
const refuseQueue: QueueCarrier = () =>
  Promise.resolve({ now: Math.floor(Date.now() / 1000), by: "send role", error: "no send role" });

export const TEST_PASSWORD = "correct horse battery staple";

/** A client address other than loopback (what the listener would bind as remoteAddr). */
export const REMOTE = { remoteAddr: "192.0.2.9" };

export interface TestConsole {
  home: string;
  app: ReturnType<typeof createAdminApp>;
  context: AdminContext;
  /** The log records the console wrote (this isolate's log sink is the test's). */
  records: LogRecord[];
  /** How many reloads the console asked for. */
  reloads(): number;
  /** The counters the next request sees. */
  setCounters(snapshot: CounterSnapshot): void;
  /** A request from REMOTE (not loopback) with optional cookie and headers. */
  request(path: string, init?: RequestInit & { cookie?: string }): Promise<Response>;
  /** Logs in as a browser does; the session cookie and the pages' CSRF token. */
  login(): Promise<{ cookie: string; csrf: string }>;
  close(): Promise<void>;
}

/** The `name=value` of each Set-Cookie header, joined as a Cookie header. */
export function cookiesOf(response: Response): string {
  return response.headers.getSetCookie().map((line) => line.split(";")[0])
    .filter((pair) => !pair.endsWith("=")).join("; ");
}

/** The value of the first `_csrf` field in a page. */
export function csrfIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (match === null) throw new Error(`no _csrf field in ${html.slice(0, 200)}`);
  return match[1];
}

/**
 * The console's home; `carryQueue` carries out queue requests as the
 * supervisor's send role would (queue tests pass controlQueue on the home,
 * which the admin folder may not import); without it they are refused.
 */
export async function makeTestConsole(
  options: { carryQueue?: (home: string) => QueueCarrier } = {},
): Promise<TestConsole> {
  const home = `${await Deno.makeTempDir({ prefix: "qmd-admin-" })}/home`;
  Deno.mkdirSync(`${home}/control`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/me`, "mx.example.test\n");
  Deno.writeTextFileSync(`${home}/control/rcpthosts`, "mx.example.test\n");
  makeTestQueue(home);
  setAdminPassword(home, TEST_PASSWORD);
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "admin");
  let counters = new LogCounters().snapshot();
  let reloads = 0;
  const context: AdminContext = {
    home,
    counters: () => counters,
    log: new LogHub(),
    queue: new QueueSampler(home),
    sessions: new SessionStore(),
    logins: new LoginGuard(),
    reload: () => reloads++,
    // What the supervisor does with the role's admin-write message.
    write: (write) => applyAdminRequest(home, write, options.carryQueue?.(home) ?? refuseQueue),
    now: () => Date.now(),
    secure: false,
  };
  const app = createAdminApp(context);
  const request = (path: string, init: RequestInit & { cookie?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie) headers.set("cookie", init.cookie);
    return Promise.resolve(
      app.request(`http://admin.test${path}`, { ...init, headers, redirect: "manual" }, REMOTE),
    );
  };
  return {
    home,
    app,
    context,
    records,
    reloads: () => reloads,
    setCounters: (snapshot) => (counters = snapshot),
    request,
    async login() {
      const form = await request("/login");
      const loginCookie = cookiesOf(form);
      const token = csrfIn(await form.text());
      const posted = await request("/login", {
        method: "POST",
        cookie: loginCookie,
        body: new URLSearchParams({ _csrf: token, password: TEST_PASSWORD }),
      });
      if (posted.status !== 303) throw new Error(`login failed: ${posted.status}`);
      const cookie = cookiesOf(posted);
      const page = await request("/", { cookie });
      return { cookie, csrf: csrfIn(await page.text()) };
    },
    close: () => Deno.remove(home.slice(0, home.lastIndexOf("/")), { recursive: true }),
  };
}
