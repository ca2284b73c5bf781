/**
 * The console's page frame: one layout with the navigation, the logout form
 * (with its CSRF token) and the stylesheet from /assets (no inline script or
 * style: the CSP forbids both). Text goes through hono/html's `html`, which
 * escapes every interpolated value; escapeHtml is for strings built apart
 * (the SVG charts).
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** A piece of markup as the pages build it. */
export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

const NAVIGATION: ReadonlyArray<[string, string]> = [
  ["/", "Dashboard"],
  ["/queue", "Queue"],
  ["/accounts", "Accounts"],
  ["/controls", "Control files"],
  ["/log", "Live log"],
  ["/trace", "Decision trace"],
];

/** Escapes text for HTML and SVG text and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

/** The entities hono/html writes, so both escapes agree. */
const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** A whole page: title, navigation, the body, and `scripts` from /assets. */
export function page(
  title: string,
  csrf: string,
  body: Markup,
  scripts: readonly string[] = [],
): Markup {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${title} · qmd</title>
    <link rel="stylesheet" href="/assets/style.css">
    ${scripts.map((name) => html`<script src="/assets/${name}" defer></script>`)}
      </head>
      <body>
        <header>
          <nav>${NAVIGATION.map(([href, name]) =>
            html`
              <a href="${href}">${name}</a>
            `
          )}</nav>
          <form method="post" action="/logout" class="logout">
    <input type="hidden" name="_csrf" value="${csrf}"><button>Log out</button>
          </form>
        </header>
        <main>
    <h1>${title}</h1>
    ${body}
        </main>
      </body>
    </html>
  `;
}

/** A hidden field with the session's CSRF token, for each form. */
export function csrfField(csrf: string): Markup {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

/** A message box: ok or error. */
export function notice(kind: "ok" | "error", text: string | undefined): Markup | "" {
  return text === undefined || text === "" ? "" : html`<p class="${kind}">${text}</p>`;
}
