/**
 * The queue's pages as markup: the list with its search, the per-message
 * buttons and the bulk form; one message's envelope and header; a bulk
 * job's progress (assets/bulk_progress.js polls it while it runs). Pure:
 * queue_routes.ts brings the send role's replies.
 */
import { html } from "hono/html";
// Queue addresses are byte strings; a UTF-8 address (SMTPUTF8) is shown as its text.
import { byteStringText } from "../bytes.ts";
import type {
  MessageDetail,
  QueuedMessage,
  QueuedRecipient,
  QueueReply,
} from "../queue/control_request.ts";
import type { QueueStates } from "./queue_view.ts";
import { formatSpan, formatTime } from "../queue/queue_listing.ts";
import { CHANGE_ACTIONS } from "./queue_requests.ts";
import { type QueueSearch, SEARCH_STATES } from "./queue_search.ts";
import type { BulkJob } from "./bulk_jobs.ts";
import { csrfField, type Markup, notice } from "./html.ts";

/** A message's state in words: queued, bouncing or not yet preprocessed; held; delivering. */
function stateOf(message: QueuedMessage): string {
  return [
    message.state === "unprocessed" ? "not yet preprocessed" : message.state,
    ...message.held ? ["held"] : [],
    ...message.delivering ? ["delivering"] : [],
  ].join(", ");
}

/** A recipient's line: channel, address, done or next retry, last deferral. */
function recipientLine(message: QueuedMessage, recipient: QueuedRecipient, now: number): Markup {
  const due = recipient.channel === undefined ? undefined : message.nextRetry[recipient.channel];
  const status = recipient.done
    ? "done"
    : message.held
    ? "held"
    : due === undefined
    ? ""
    : due <= now
    ? "next retry now"
    : `next retry in ${formatSpan(due - now)}`;
  const deferral = recipient.lastDeferral;
  return html`<div>${recipient.channel ?? "todo"} ${
    byteStringText(recipient.address)
  } <i>${status}</i>${
    deferral !== undefined && !recipient.done
      ? html`<br><small>last deferral ${formatTime(deferral.at)}: ${deferral.text}</small>`
      : ""
  }</div>`;
}

/** The buttons for one message; `back` says which page the answer returns to. */
function actionButtons(csrf: string, id: string, back: "list" | "message"): Markup {
  return html`<form method="post" action="/queue/action" class="actions">${csrfField(csrf)}
<input type="hidden" name="id" value="${id}"><input type="hidden" name="back" value="${back}">
${
    back === "message"
      ? html`<input name="reason" size="40" placeholder="bounce reason (default: removed by the postmaster)">`
      : ""
  }
${CHANGE_ACTIONS.map((action) => html`<button name="action" value="${action}">${action}</button>`)}
</form>`;
}

export interface QueuePageData {
  csrf: string;
  states: QueueStates;
  qread: string;
  search: QueueSearch;
  reply: QueueReply;
  messages: QueuedMessage[];
  ok?: string;
  error?: string;
}

export function queuePage(data: QueuePageData): Markup {
  const { csrf, states, search, reply, messages } = data;
  const row = (message: QueuedMessage) =>
    html`
      <tr data-id="${message.id}">
        <td><input type="checkbox" form="bulk" name="id" value="${message
          .id}" aria-label="select #${message.id}"></td>
        <td><a href="/queue/message/${message.id}">#${message.id}</a></td>
        <td>${byteStringText(message.sender)}</td>
        <td>${message.recipients.map((each) => recipientLine(message, each, reply.now))}</td>
        <td class="state">${stateOf(message)}</td>
        <td>${formatSpan(reply.now - message.birth)}</td>
        <td>${actionButtons(csrf, message.id, "list")}</td>
      </tr>
    `;
  return html`
    ${notice("ok", data.ok)}${notice("error", data.error)}${notice("error", reply.error)}
    <table>
      <tr>${Object.keys(states).map((name) => html`<th>${name}</th>`)}</tr>
      <tr>${Object.values(states).map((count) => html`<td>${count}</td>`)}</tr>
    </table>
    <form method="get" action="/queue" class="search">
      <input name="q" value="${search.text}" placeholder="sender or recipient contains">
      <select name="state"><option value="">any state</option>${SEARCH_STATES.map((state) =>
        html`
          <option value="${state}" ${state === search.state ? " selected" : ""}>${state}</option>
        `
      )}</select>
      <button>Search</button>
    </form>
    <form method="post" action="/queue/bulk" id="bulk">${csrfField(csrf)}
      <select name="action">${CHANGE_ACTIONS.map((action) =>
        html`<option>${action}</option>`
      )}</select>
      <input name="reason" size="40" placeholder="bounce reason (default: removed by the postmaster)">
      <button>Apply to the selected messages</button>
    </form>
    <h2>Messages (${messages.length})</h2>
    <table class="messages">
    <tr><th></th><th>message</th><th>sender</th><th>recipients</th><th>state</th><th>age</th><th>actions</th></tr>
    ${messages.map(row)}
    </table>
    ${messages.length === 0 ? html`<p>No message matches.</p>` : ""}
    <details>
      <summary>qmail-qread</summary>
      <pre>${data.qread || "The queue is empty."}</pre>
    </details>
  `;
}

function envelope(message: MessageDetail, now: number): Markup {
  return html`
    <table>
      <tr>
        <th>message</th>
        <td>#${message.id}</td>
      </tr>
      <tr>
        <th>state</th>
        <td class="state">${stateOf(message)}</td>
      </tr>
      <tr>
        <th>sender</th>
        <td>${byteStringText(message.sender)}</td>
      </tr>
      <tr>
        <th>recipients</th>
        <td>${message.recipients.map((each) => recipientLine(message, each, now))}</td>
      </tr>
      <tr>
        <th>size</th>
        <td>${message.size} bytes</td>
      </tr>
      <tr>
        <th>queued</th>
        <td>${formatTime(message.birth)} (${formatSpan(now - message.birth)} ago)</td>
      </tr>
    </table>
  `;
}

export function messagePage(csrf: string, reply: QueueReply, ok?: string, error?: string): Markup {
  const message = reply.message;
  return html`${notice("ok", ok)}${notice("error", error)}
<p><a href="/queue">Back to the queue</a></p>
${
    message === undefined
      ? notice("error", reply.error ?? "not in the queue")
      : html`${envelope(message, reply.now)}
${actionButtons(csrf, message.id, "message")}
<h2>Header</h2>
<pre>${message.headers}</pre>`
  }`;
}

export function jobPage(job: BulkJob): Markup {
  const total = job.ids.length;
  const done = job.results.length;
  return html`<p>${job.action} on ${total} message${total === 1 ? "" : "s"}:</p>
<progress id="progress" value="${done}" max="${total}" data-job="${job.id}"></progress>
<p id="progress-text">${done} of ${total} done${job.finished ? "" : " …"}</p>
<ul>${
    job.results.map((result) =>
      html`<li class="${result.ok ? "ok" : "error"}">#${result.id}: ${result.text}</li>`
    )
  }</ul>
<p><a href="/queue/jobs/${job.id}">Refresh</a> · <a href="/queue">Back to the queue</a></p>`;
}
