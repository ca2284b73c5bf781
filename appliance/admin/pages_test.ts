import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestConsole } from "./test_console.ts";
import { LogCounters } from "../log_counters.ts";
import { TraceStore } from "../trace/store.ts";
import { formatTrace } from "../trace/explain_format.ts";
import type { SessionTrace } from "../filters/filter.ts";
import { injectTestMessage } from "../queue/test_queue.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { escapeHtml } from "./html.ts";

Deno.test("dashboard: counters and per-minute charts drawn as inline SVG from the counters", async () => {
  const console = await makeTestConsole();
  try {
    const counters = new LogCounters();
    const now = Date.now();
    for (let i = 0; i < 3; i++) {
      counters.record({
        time: now,
        role: "send",
        event: "delivery_success",
        text: "delivery",
        fields: { channel: "local" },
      });
    }
    console.setCounters(counters.snapshot());
    console.context.queue.sample();
    const session = await console.login();
    const data = await (await console.request("/api/dashboard", { cookie: session.cookie })).json();
    assertEquals(data.perMinute.deliveries.length, 60);
    assertEquals(data.perMinute.deliveries.at(-1), 3);
    assertEquals(data.queueSamples, [0]);
    const page = await (await console.request("/", { cookie: session.cookie })).text();
    assertStringIncludes(page, `<div class="counter">deliveries<b>3</b></div>`);
    assertEquals(page.match(/<svg /g)?.length, 7);
    assertStringIncludes(page, "<polyline");
  } finally {
    await console.close();
  }
});

Deno.test("queue page: counts by state and qmail-qread's listing", async () => {
  const console = await makeTestConsole();
  try {
    injectTestMessage(queueLayoutFor(console.home), "a@example.test", ["b@example.test"]);
    const session = await console.login();
    const data = await (await console.request("/api/queue", { cookie: session.cookie })).json();
    assertEquals(data.states.messages, 1);
    assertEquals(data.states.todo, 1);
    const page = await (await console.request("/queue", { cookie: session.cookie })).text();
    assertStringIncludes(page, escapeHtml(data.qread).split("\n")[0]);
  } finally {
    await console.close();
  }
});

Deno.test("decision trace: the traces qmd explain shows, found by session id", async () => {
  const console = await makeTestConsole();
  try {
    const now = Date.now();
    const trace: SessionTrace = {
      sessionId: "2.17",
      start: now,
      remoteIp: "192.0.2.7",
      helo: "client.example",
      decisions: [{
        time: now + 5,
        phase: "mail",
        check: "badmailfrom",
        input: "spam@example.org",
        verdict: "refuse",
        rule: {
          check: "badmailfrom",
          source: "control/badmailfrom",
          line: 3,
          entry: "@example.org",
        },
        reply: "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)",
      }],
      messages: [],
    };
    const store = new TraceStore(`${console.home}/log/trace`, { now: () => now });
    store.append(trace);
    const session = await console.login();
    const found = await (await console.request("/api/trace?id=2.17", { cookie: session.cookie }))
      .json();
    assertEquals(found.map((each: SessionTrace) => each.sessionId), ["2.17"]);
    const page = await (await console.request("/trace?id=2.17", { cookie: session.cookie }))
      .text();
    for (const line of formatTrace(trace)) assertStringIncludes(page, escapeHtml(line));
    const none = await (await console.request("/trace?id=9.9", { cookie: session.cookie })).text();
    assertStringIncludes(none, "No session, queue id or Message-ID 9.9");
    assertEquals((await console.request("/api/trace", { cookie: session.cookie })).status, 400);
  } finally {
    await console.close();
  }
});

Deno.test("pages escape what they show: a control file's text cannot inject markup", async () => {
  const console = await makeTestConsole();
  try {
    Deno.writeTextFileSync(`${console.home}/control/smtpgreeting`, "<script>alert(1)</script>\n");
    const session = await console.login();
    const page = await (await console.request("/controls/file?name=smtpgreeting", {
      cookie: session.cookie,
    })).text();
    assert(!page.includes("<script>alert"));
    assertStringIncludes(page, "&lt;script&gt;alert(1)&lt;/script&gt;");
  } finally {
    await console.close();
  }
});
