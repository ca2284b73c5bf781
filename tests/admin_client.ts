/**
 * An HTTP client of a running console for the end-to-end tests: a login
 * as a browser does it (login form, its cookie and CSRF token, the session
 * cookie), then GETs and JSON POSTs carrying the session and its CSRF token.
 */

/** The `name=value` of each Set-Cookie header, joined as a Cookie header. */
export function cookiesOf(response: Response): string {
  return response.headers.getSetCookie().map((line) => line.split(";")[0])
    .filter((pair) => !pair.endsWith("=")).join("; ");
}

/** The value of the first `_csrf` field in a page ("" when there is none). */
export function csrfIn(html: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
}

export interface AdminClient {
  cookie: string;
  csrf: string;
  get(path: string): Promise<Response>;
  postJson(path: string, body: unknown): Promise<Response>;
  postForm(path: string, fields: Record<string, string>): Promise<Response>;
}

/** Logs in to the console at `base` (http://host:port) with `password`. */
export async function adminLogin(base: string, password: string): Promise<AdminClient> {
  const form = await fetch(`${base}/login`, { redirect: "manual" });
  const login = await fetch(`${base}/login`, {
    method: "POST",
    headers: { cookie: cookiesOf(form) },
    body: new URLSearchParams({ _csrf: csrfIn(await form.text()), password }),
    redirect: "manual",
  });
  await login.body?.cancel();
  if (login.status !== 303) throw new Error(`login to ${base} answered ${login.status}`);
  const cookie = cookiesOf(login);
  const get = (path: string) =>
    fetch(`${base}${path}`, { headers: { cookie }, redirect: "manual" });
  const csrf = csrfIn(await (await get("/")).text());
  return {
    cookie,
    csrf,
    get,
    postJson: (path, body) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify(body),
        redirect: "manual",
      }),
    postForm: (path, fields) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { cookie },
        body: new URLSearchParams({ _csrf: csrf, ...fields }),
        redirect: "manual",
      }),
  };
}
