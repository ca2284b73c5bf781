import { assertEquals } from "../tests/assert.ts";
import { LogCounters, MINUTES_KEPT } from "./log_counters.ts";
import type { LogRecord } from "./log.ts";

const MINUTE = 60_000;
const T0 = Date.parse("2026-12-02T12:00:00Z");

function record(event: string, fields: LogRecord["fields"], time = T0): LogRecord {
  return { time, role: "test", event, text: event, fields };
}

Deno.test("log counters: deliveries, deferrals and bounces by channel and per minute", () => {
  const counters = new LogCounters(T0);
  counters.record(record("delivery_success", { channel: "local" }));
  counters.record(record("delivery_success", { channel: "remote" }, T0 + MINUTE));
  counters.record(record("delivery_deferral", { channel: "remote" }, T0 + MINUTE));
  counters.record(record("delivery_failure", { channel: "remote" }, T0 + MINUTE));
  counters.record(record("new_msg", { msg: 1 }));
  const snapshot = counters.snapshot();
  assertEquals(snapshot.deliveries, { local: 1, remote: 1 });
  assertEquals(snapshot.deferrals, { remote: 1 });
  assertEquals(snapshot.bounces, { remote: 1 });
  assertEquals(snapshot.minutes.map((m) => [m.deliveries, m.deferrals, m.bounces]), [
    [1, 0, 0],
    [1, 1, 1],
  ]);
});

Deno.test("log counters: the per-minute series keeps the last hour only", () => {
  const counters = new LogCounters(T0);
  for (let minute = 0; minute < MINUTES_KEPT + 5; minute++) {
    counters.record(record("delivery_success", { channel: "local" }, T0 + minute * MINUTE));
  }
  const minutes = counters.snapshot().minutes;
  assertEquals(minutes.length, MINUTES_KEPT);
  assertEquals(minutes[0].minute, Math.floor(T0 / MINUTE) + 5);
});

Deno.test("log counters: refusals by command and code, sessions and TLS by listener, restarts, auth failures", () => {
  const counters = new LogCounters(T0);
  counters.record(record("smtp_reject", { command: "RCPT", reply: "553 sorry (#5.7.1)" }));
  counters.record(record("smtp_reject", { command: "MAIL", reply: "451 try later" }));
  counters.record(record("smtp_connect", { session: "1.1", listener: "smtp" }));
  counters.record(record("smtp_connect", { session: "1.2", listener: "submission" }));
  counters.record(record("smtp_tls", { session: "1.2" }));
  counters.record(record("smtp_close", { session: "1.2" }));
  // After its close line a session's TLS is not placed (it cannot happen; the map stays small).
  counters.record(record("smtp_tls", { session: "1.2" }));
  counters.record(record("pop3_connect", { session: "2.1", listener: "pop3s" }));
  counters.record(record("role_crashed", { role: "smtpd" }));
  counters.record(record("smtp_auth_failed", { session: "1.1" }));
  counters.record(record("admin_login_failed", { remote: "192.0.2.1" }));
  const snapshot = counters.snapshot();
  assertEquals(snapshot.refusals, { "rcpt 553": 1, "mail 451": 1 });
  assertEquals(snapshot.sessions, { smtp: 1, submission: 1, pop3s: 1 });
  assertEquals(snapshot.tls, { submission: 1, unknown: 1 });
  assertEquals(snapshot.restarts, { smtpd: 1 });
  assertEquals(snapshot.authFailures, { smtp_auth_failed: 1, admin_login_failed: 1 });
});
