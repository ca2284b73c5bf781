/**
 * Accounts: the virtual domains and mailboxes of the accounts database,
 * with a mailbox's password and quotas changed through the same
 * AccountStore methods `qmd user passwd` uses (the supervisor runs them:
 * admin_writes.ts), followed (as there) by a reload so a running qmd offers
 * the right AUTH mechanisms at once; and the aliases, listed, added and
 * deleted through the functions `qmd alias` uses (aliases/alias_change.ts,
 * also run by the supervisor: the .qmail files are not the console's to
 * write). A form posts and comes back to the page with what happened; the
 * API answers JSON.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import { homePaths } from "../../config/home.ts";
import { AccountStore } from "../accounts/store.ts";
import { AccountError } from "../accounts/account_names.ts";
import type { Mailbox } from "../accounts/mailbox.ts";
import type { AdminWrite, AdminWriteResult } from "./admin_writes.ts";
import type { AdminContext, AdminEnv, AdminRequest } from "./context.ts";
import { csrfOf, readInput, wantsJson } from "./context.ts";
import { csrfField, type Markup, notice, page } from "./html.ts";
import { type AliasEntry, listAliases } from "../aliases/alias_files.ts";

/** The domains and mailboxes; empty when the home has no accounts database yet. */
function readAccounts(home: string): { domains: string[]; mailboxes: Mailbox[] } {
  try {
    Deno.statSync(homePaths(home).accounts);
  } catch {
    return { domains: [], mailboxes: [] };
  }
  const store = AccountStore.open(home, { readonly: true });
  try {
    return { domains: store.listDomains(), mailboxes: store.listMailboxes() };
  } finally {
    store.close();
  }
}

/** One change a form or API call asks for; `reload` false when nothing needs re-reading. */
interface Change {
  write: AdminWrite;
  message: string;
  reload?: boolean;
}

/** A whole number >= 0 from a form field, or undefined when the field is empty. */
function parseCount(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  if (!/^\d+$/.test(text.trim())) {
    throw new AccountError(`Invalid ${what}: ${text} (a whole number >= 0)`, "invalid");
  }
  return Number(text.trim());
}

/** The aliases (qmd alias list) with a delete button each, and the form that adds one. */
function aliasSection(csrf: string, aliases: AliasEntry[]): Markup {
  const row = (alias: AliasEntry) =>
    html`
      <tr>
        <td>${alias.address}</td>
        <td>${alias.forwards.join(", ")}</td>
        <td>${alias.other.join(", ")}</td>
        <td>${alias.path}</td>
        <td>
          <form method="post" action="/accounts/alias/delete">${csrfField(csrf)}
      <input type="hidden" name="address" value="${alias.address}">
      <button${alias.other.length > 0 ? " disabled" : ""}>Delete</button></form></td>
      </tr>
    `;
  return html`
    <h2>Aliases</h2>
    <table
      class="aliases"><tr><th>address</th><th>forwards to</th><th>other lines</th><th>file</th><th></th></tr>
    ${aliases.map(row)}</table>
    ${aliases.length === 0 ? html`<p>No aliases.</p>` : ""}
    <form method="post" action="/accounts/alias">${csrfField(csrf)}
    <input name="address" placeholder="alias@example.com" required>
    <input name="targets" size="40" placeholder="forward to (addresses, space or comma separated)" required>
    <button>Add alias</button></form>
    <p><small>A file with lines other than forwards is changed by hand or with qmd alias del ADDRESS TARGET.</small></p>
  `;
}

export function accountsRoutes(context: AdminContext): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  /** Asks for a change; answers JSON or goes back to the page with its outcome. */
  const change = async (
    c: AdminRequest,
    describe: (input: Record<string, string>) => Change,
  ) => {
    const input = await readInput(c);
    let outcome: { ok: true; message: string } | Extract<AdminWriteResult, { ok: false }>;
    let reload = true;
    try {
      const change = describe(input);
      reload = change.reload ?? true;
      const result = await context.write(change.write);
      outcome = result.ok ? { ok: true, message: result.text ?? change.message } : result;
    } catch (error) {
      if (!(error instanceof AccountError)) throw error;
      outcome = { ok: false, error: error.message, status: 400 };
    }
    if (outcome.ok && reload) context.reload();
    if (wantsJson(c)) {
      return outcome.ok ? c.json(outcome) : c.json({ error: outcome.error }, outcome.status);
    }
    const query = outcome.ok
      ? `ok=${encodeURIComponent(outcome.message)}`
      : `error=${encodeURIComponent(outcome.error)}`;
    return c.redirect(`/accounts?${query}`, 303);
  };

  const setPassword = (input: Record<string, string>) => {
    const challengeAuth = input.challengeAuth === "on" || input.challengeAuth === "true";
    const address = input.address ?? "";
    return {
      write: { kind: "password", address, password: input.password ?? "", challengeAuth } as const,
      message: `changed the password of ${address.toLowerCase()}; challenge auth ${
        challengeAuth ? "on" : "off"
      }`,
    };
  };
  const setQuota = (input: Record<string, string>) => {
    const address = input.address ?? "";
    return {
      write: {
        kind: "quota",
        address,
        quotaBytes: parseCount(input.quotaBytes, "quota bytes"),
        quotaMessages: parseCount(input.quotaMessages, "quota messages"),
      } as const,
      message: `changed the quota of ${address.toLowerCase()}`,
    };
  };

  /** `qmd alias add` / `del`: local delivery reads .qmail files per message, so no reload. */
  const changeAlias = (change: "add" | "del") => (input: Record<string, string>): Change => {
    const address = input.address ?? "";
    const targets = (input.targets ?? "").split(/[\s,]+/).filter((target) => target !== "");
    if (change === "add" && targets.length === 0) {
      throw new AccountError("Give one or more targets to forward to", "invalid");
    }
    return {
      write: { kind: "alias", change, address, targets },
      message: `changed the alias ${address.toLowerCase()}`,
      reload: false,
    };
  };

  app.get("/api/accounts", (c) => c.json(readAccounts(context.home)));
  app.get("/api/accounts/aliases", (c) => c.json(listAliases(context.home)));
  app.post("/api/accounts/alias", (c) => change(c, changeAlias("add")));
  app.post("/api/accounts/alias/delete", (c) => change(c, changeAlias("del")));
  app.post("/accounts/alias", (c) => change(c, changeAlias("add")));
  app.post("/accounts/alias/delete", (c) => change(c, changeAlias("del")));
  app.post("/api/accounts/password", (c) => change(c, setPassword));
  app.post("/api/accounts/quota", (c) => change(c, setQuota));
  app.post("/accounts/password", (c) => change(c, setPassword));
  app.post("/accounts/quota", (c) => change(c, setQuota));

  app.get("/accounts", (c) => {
    const csrf = csrfOf(c);
    const { domains, mailboxes } = readAccounts(context.home);
    const row = (mailbox: Mailbox) =>
      html`
        <tr>
          <td>${mailbox.address}</td>
          <td>${mailbox.maildir}</td>
          <td>${mailbox.challengeAuth ? "yes" : "no"}</td>
          <td>
            <form method="post" action="/accounts/password">${csrfField(csrf)}
        <input type="hidden" name="address" value="${mailbox.address}">
        <input type="password" name="password" required autocomplete="new-password">
        <label><input type="checkbox" name="challengeAuth"${mailbox.challengeAuth
          ? " checked"
          : ""}> challenge auth</label>
        <button>Set password</button></form>
          </td>
          <td>
            <form method="post" action="/accounts/quota">${csrfField(csrf)}
        <input type="hidden" name="address" value="${mailbox.address}">
        <input name="quotaBytes" size="10" value="${mailbox.quotaBytes}"> bytes
        <input name="quotaMessages" size="6" value="${mailbox.quotaMessages}"> messages
        <button>Set quota</button></form>
          </td>
        </tr>
      `;
    const body = html`${notice("ok", c.req.query("ok"))}${notice("error", c.req.query("error"))}
<h2>Domains</h2>
<ul>${domains.map((domain) => html`<li>${domain}</li>`)}</ul>
${domains.length === 0 ? html`<p>No virtual domains: add one with qmd domain add.</p>` : ""}
<h2>Mailboxes</h2>
<table><tr><th>address</th><th>Maildir</th><th>challenge auth</th><th>password</th><th>quota (0 = none)</th></tr>
${mailboxes.map(row)}</table>
${aliasSection(csrf, listAliases(context.home))}`;
    return c.html(page("Accounts", csrf, body));
  });

  return app;
}
