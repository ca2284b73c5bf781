import { assert, assertEquals } from "../tests/assert.ts";
import {
  formatLogRecord,
  logDeliveryStarted,
  logEvent,
  type LogRecord,
  setLogSink,
} from "./log.ts";

Deno.test("log: logEvent escapes the text of every record, whoever logs it", () => {
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "smtpd");
  try {
    logEvent("smtp_relay_refused", "smtpd 1.1: relay refused: <a\x1b]0;x\x07@b>", {
      session: "1.1",
    });
  } finally {
    setLogSink(() => {}, "test");
  }
  assertEquals(records[0].text, "smtpd 1.1: relay refused: <a\\x1b]0;x\\x07@b>");
});

Deno.test("log: JSON lines carry no raw DEL or C1 control, and read back to the same fields", () => {
  const record: LogRecord = {
    time: 0,
    role: "smtpd",
    event: "smtp_auth_failed",
    text: "smtpd 1.1: auth failed",
    fields: { user: "a\x1b\x7f\x9bb" },
  };
  const line = formatLogRecord(record, "json");
  // deno-lint-ignore no-control-regex
  assert(!/[\x00-\x1f\x7f-\x9f]/.test(line), line);
  assertEquals(JSON.parse(line).user, "a\x1b\x7f\x9bb");
});

Deno.test("log: a UTF-8 recipient (queue bytes) is its text in JSON; qmail's text stays safe", () => {
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "send");
  try {
    const bytes = String.fromCharCode(...new TextEncoder().encode("用户@例子.测试"));
    logDeliveryStarted(7, 42n, "remote", bytes);
  } finally {
    setLogSink(() => {}, "test");
  }
  assertEquals(records[0].fields?.recipient, "用户@例子.测试");
  assertEquals(
    records[0].text,
    "starting delivery 7: msg 42 to remote ______@______.______",
  );
});
