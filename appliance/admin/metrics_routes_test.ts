import { assert, assertEquals } from "../../tests/assert.ts";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { makeTestConsole } from "./test_console.ts";
import { addAdminToken } from "./admin_state.ts";
import { LogCounters } from "../log_counters.ts";
import type { LogRecord } from "../log.ts";
import { injectTestMessage } from "../queue/test_queue.ts";
import { queueLayoutFor } from "../queue/layout.ts";

interface ParsedFamily {
  name: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string>): number {
  const family = families.find((each) => each.name === name);
  const metric = family?.metrics.find((each) =>
    Object.entries(labels).every(([key, text]) => each.labels?.[key] === text)
  );
  return metric === undefined ? NaN : Number(metric.value);
}

function record(event: string, fields: LogRecord["fields"]): LogRecord {
  return { time: Date.now(), role: "test", event, text: event, fields };
}

Deno.test("metrics: Prometheus text that a parser reads, with the queue and every counter", async () => {
  const console = await makeTestConsole();
  try {
    await injectTestMessage(queueLayoutFor(console.home), "a@example.test", ["b@example.test"]);
    const counters = new LogCounters();
    for (
      const each of [
        record("delivery_success", { channel: "local" }),
        record("delivery_success", { channel: "remote" }),
        record("delivery_success", { channel: "remote" }),
        record("delivery_deferral", { channel: "remote" }),
        record("delivery_failure", { channel: "local" }),
        record("smtp_reject", { command: "RCPT", reply: "553 sorry (#5.7.1)" }),
        record("smtp_connect", { session: "1.1", listener: "smtp" }),
        record("smtp_tls", { session: "1.1" }),
        record("smtp_connect", { session: "1.2", listener: "submission" }),
        record("role_crashed", { role: "local" }),
        record("smtp_auth_failed", { session: "1.2" }),
      ]
    ) counters.record(each);
    console.setCounters(counters.snapshot());
    const token = addAdminToken(console.home, "prometheus");
    const response = await console.request("/metrics", {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(response.status, 200);
    assert((response.headers.get("content-type") ?? "").startsWith("text/plain"));
    const families = parsePrometheusTextFormat(await response.text()) as ParsedFamily[];
    assertEquals(value(families, "qmd_queue_messages", { state: "messages" }), 1);
    assertEquals(value(families, "qmd_queue_messages", { state: "todo" }), 1);
    assertEquals(families.find((f) => f.name === "qmd_queue_messages")?.type, "GAUGE");
    assertEquals(value(families, "qmd_deliveries_total", { channel: "remote" }), 2);
    assertEquals(value(families, "qmd_deliveries_total", { channel: "local" }), 1);
    assertEquals(value(families, "qmd_bounces_total", { channel: "local" }), 1);
    assertEquals(value(families, "qmd_deferrals_total", { channel: "remote" }), 1);
    assertEquals(value(families, "qmd_refusals_total", { reason: "rcpt 553" }), 1);
    assertEquals(value(families, "qmd_sessions_total", { listener: "submission" }), 1);
    assertEquals(value(families, "qmd_tls_sessions_total", { listener: "smtp" }), 1);
    assertEquals(value(families, "qmd_role_restarts_total", { role: "local" }), 1);
    assertEquals(value(families, "qmd_auth_failures_total", { event: "smtp_auth_failed" }), 1);
    assertEquals(families.find((f) => f.name === "qmd_deliveries_total")?.type, "COUNTER");
  } finally {
    await console.close();
  }
});

Deno.test("metrics: open to a loopback client without a token, refused to any other", async () => {
  const console = await makeTestConsole();
  try {
    const remote = await console.request("/metrics");
    assertEquals(remote.status, 401);
    await remote.body?.cancel();
    for (const remoteAddr of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
      const local = await console.app.request("http://admin.test/metrics", {}, { remoteAddr });
      assertEquals(local.status, 200, remoteAddr);
      await local.body?.cancel();
    }
    // Loopback opens /metrics only, not the API.
    const api = await console.app.request("http://admin.test/api/queue", {}, {
      remoteAddr: "127.0.0.1",
    });
    assertEquals(api.status, 401);
  } finally {
    await console.close();
  }
});
