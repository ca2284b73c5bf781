/**
 * Control files: every file qmd reads, from the one controls table
 * (config/controls.ts) with its meaning, default and readers and whether
 * the home has it; an editor that checks the new text with the roles' own
 * loaders before saving (control_check.ts) and refuses a broken file with
 * the loader's file and line; the history of every change with its diff
 * and a one-click rollback (control_history.ts). A saved change is applied
 * by asking the supervisor to reload, as SIGHUP does: connections stay up.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import { homePaths } from "../../config/home.ts";
import { CONTROLS, findControl } from "../../config/controls.ts";
import type { AdminContext, AdminEnv, AdminRequest } from "./context.ts";
import { actorOf, csrfOf, readInput, wantsJson } from "./context.ts";
import { checkControlText, isEditableControl, isShownControl } from "./control_check.ts";
import { type ControlChange, findChange, listChanges, recordChange } from "./control_history.ts";
import { diffLines } from "./line_diff.ts";
import { csrfField, type Markup, notice, page } from "./html.ts";

const decoder = new TextDecoder();

function readControlBytes(home: string, name: string): Uint8Array | null {
  try {
    return Deno.readFileSync(`${homePaths(home).control}/${name}`);
  } catch {
    return null;
  }
}

function textOf(bytes: Uint8Array | null): string {
  return bytes === null ? "" : decoder.decode(bytes);
}

/** A change as the API shows it: the texts' diff instead of their bytes. */
function describeChange(change: ControlChange) {
  return {
    number: change.number,
    time: new Date(change.time).toISOString(),
    name: change.name,
    by: change.by,
    rollbackOf: change.rollbackOf ?? null,
    existedBefore: change.before !== null,
    existsAfter: change.after !== null,
    diff: diffLines(textOf(change.before), textOf(change.after)),
  };
}

type SaveOutcome =
  | { ok: true; change: ControlChange }
  | { ok: false; status: 400 | 404 | 422 | 500; errors: string[] };

/**
 * Checks one control file's new bytes (null deletes it), has the
 * supervisor write them, records the change and reloads.
 */
async function saveControl(
  context: AdminContext,
  name: string,
  bytes: Uint8Array | null,
  by: string,
  rollbackOf?: number,
): Promise<SaveOutcome> {
  if (!isEditableControl(name)) {
    return { ok: false, status: 400, errors: [`control/${name} is not a file qmd reads`] };
  }
  const problems = checkControlText(context.home, name, bytes === null ? undefined : textOf(bytes));
  if (problems.length > 0) return { ok: false, status: 422, errors: problems };
  const before = readControlBytes(context.home, name);
  const written = await context.write({ kind: "control", name, bytes });
  if (!written.ok) return { ok: false, status: written.status, errors: [written.error] };
  const change = recordChange(context.home, name, before, bytes, by, rollbackOf);
  context.reload();
  return { ok: true, change };
}

export function controlsRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const home = context.home;

  const table = () =>
    CONTROLS.map((spec) => ({
      name: spec.name,
      kind: spec.kind,
      default: spec.default,
      readers: spec.readers,
      meaning: spec.meaning,
      read: spec.read,
      present: readControlBytes(home, spec.name) !== null,
    }));

  const editor = (c: AdminRequest, name: string, text: string, errors: string[] = []): Markup => {
    const spec = findControl(name);
    const editable = isEditableControl(name);
    const csrf = csrfOf(c);
    const changes = listChanges(home, name).reverse();
    const change = (entry: ControlChange) =>
      html`<h3>#${entry.number} ${new Date(entry.time).toISOString()} by ${entry.by}${
        entry.rollbackOf === undefined ? "" : ` (rollback of #${entry.rollbackOf})`
      }</h3>
<pre>${
        diffLines(textOf(entry.before), textOf(entry.after)).map((line) =>
          html`<span class="${
            line.kind === "+" ? "added" : line.kind === "-" ? "removed" : "kept"
          }">${line.kind} ${line.text}</span>\n`
        )
      }</pre>
<form method="post" action="/controls/rollback">${csrfField(csrf)}
<input type="hidden" name="number" value="${entry.number}">
<button>Roll back to before #${entry.number}</button></form>`;
    return page(
      `control/${name}`,
      csrf,
      html`<p>${spec?.meaning ?? ""} Default: ${spec?.default ?? "none"}. Kind: ${spec?.kind}.
Read by: ${spec?.readers.join(", ")}.</p>
${notice("ok", c.req.query("ok"))}${errors.length > 0 ? notice("error", errors.join("\n")) : ""}
${
        editable
          ? html`<form method="post" action="/controls/file">${csrfField(csrf)}
<input type="hidden" name="name" value="${name}">
<textarea name="text" spellcheck="false">\n${text}</textarea>
<p><button>Check and save</button> (applied with a reload, as kill -HUP does)</p>
</form>`
          : html`<p>${
            isShownControl(name)
              ? "Not edited here: it is built by its command or names a pattern."
              : "It holds a key or a secret: not shown or changed here; edit it on disk."
          }</p>${isShownControl(name) ? html`<pre>${text}</pre>` : ""}`
      }
<h2>History</h2>
${changes.length === 0 ? html`<p>No changes made from the console yet.</p>` : changes.map(change)}`,
    );
  };

  const answer = (c: AdminRequest, name: string, text: string, outcome: SaveOutcome) => {
    if (wantsJson(c)) {
      return outcome.ok
        ? c.json({ ok: true, change: describeChange(outcome.change) })
        : c.json({ errors: outcome.errors }, outcome.status);
    }
    if (!outcome.ok) return c.html(editor(c, name, text, outcome.errors), outcome.status);
    const message = `saved change #${outcome.change.number} and reloaded`;
    return c.redirect(
      `/controls/file?name=${encodeURIComponent(name)}&ok=${encodeURIComponent(message)}`,
      303,
    );
  };

  const save = async (c: AdminRequest) => {
    const input = await readInput(c);
    const name = input.name ?? "";
    // A browser's textarea sends CRLF line ends; control files have LF.
    const text = wantsJson(c) ? input.text ?? "" : (input.text ?? "").replace(/\r\n/g, "\n");
    const outcome = await saveControl(context, name, new TextEncoder().encode(text), actorOf(c));
    return answer(c, name, text, outcome);
  };

  const rollback = async (c: AdminRequest) => {
    const input = await readInput(c);
    const change = findChange(home, Number(input.number));
    if (change === undefined) {
      return wantsJson(c)
        ? c.json({ errors: [`no change #${input.number}`] }, 404)
        : c.text(`no change #${input.number}`, 404);
    }
    const outcome = await saveControl(
      context,
      change.name,
      change.before,
      actorOf(c),
      change.number,
    );
    return answer(c, change.name, textOf(change.before), outcome);
  };

  app.get("/api/controls", (c) => c.json(table()));
  app.get("/api/controls/file", (c) => {
    const name = c.req.query("name") ?? "";
    if (findControl(name) === undefined) return c.json({ error: `unknown control/${name}` }, 404);
    const bytes = readControlBytes(home, name);
    return c.json({
      name,
      exists: bytes !== null,
      editable: isEditableControl(name),
      // A key or secret is never sent.
      text: isShownControl(name) ? textOf(bytes) : null,
      history: listChanges(home, name).map(describeChange),
    });
  });
  app.post("/api/controls/file", save);
  app.post("/api/controls/rollback", rollback);
  app.get("/api/controls/history", (c) => c.json(listChanges(home).map(describeChange)));
  app.post("/api/reload", (c) => {
    context.reload();
    return c.json({ ok: true });
  });
  app.post("/controls/file", save);
  app.post("/controls/rollback", rollback);

  app.get("/controls/file", (c) => {
    const name = c.req.query("name") ?? "";
    if (findControl(name) === undefined) return c.text(`unknown control/${name}`, 404);
    const text = isShownControl(name) ? textOf(readControlBytes(home, name)) : "";
    return c.html(editor(c, name, text));
  });

  app.get("/controls", (c) => {
    const rows = table().map((entry) =>
      html`
        <tr>
          <td><a href="/controls/file?name=${encodeURIComponent(entry.name)}">${entry.name}</a></td>
          <td>${entry.present ? "set" : "default"}</td>
          <td>${entry.default}</td>
          <td>${entry.kind}</td>
          <td>${entry.readers.join(", ")}</td>
          <td>${entry.meaning}</td>
        </tr>
      `
    );
    return c.html(page(
      "Control files",
      csrfOf(c),
      html`<p>Every file qmd reads under ${homePaths(home).control}.</p>
<table><tr><th>file</th><th>here</th><th>default</th><th>kind</th><th>read by</th><th>meaning</th></tr>
${rows}</table>`,
    ));
  });

  return app;
}
