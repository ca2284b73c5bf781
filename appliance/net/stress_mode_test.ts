import { assertEquals } from "../../tests/assert.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { ConnectionLimits, createLimitsBuffer } from "./connection_limits.ts";
import { connectionStress, logStressChange } from "./stress_mode.ts";

const CONTROLS = { perIp: 5, seconds: 10, dataRate: 1000 };

Deno.test("connectionStress reads the shared stress word at every look", () => {
  const limits = new ConnectionLimits(createLimitsBuffer());
  const stress = connectionStress(limits, CONTROLS);
  assertEquals([stress.seconds, stress.dataRate, stress.active()], [10, 1000, false]);
  for (let i = 1; i <= 4; i++) limits.tryAcquire(`10.9.0.${i}`, { maxTotal: 5, maxPerIp: 0 });
  assertEquals(stress.active(), true);
});

Deno.test("logStressChange: a warning with what stress mode does, and a line at its end", () => {
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "smtpd");
  try {
    logStressChange("smtpd", { stressed: true, inUse: 160, maxTotal: 200 }, CONTROLS);
    logStressChange("pop3d", { stressed: true, inUse: 16, maxTotal: 20 }, {
      perIp: 0,
      seconds: 0,
      dataRate: 0,
    });
    logStressChange("smtpd", { stressed: false, inUse: 119, maxTotal: 200 }, CONTROLS);
  } finally {
    setLogSink(() => {}, "test");
  }
  assertEquals(records.map((record) => [record.event, record.text]), [
    [
      "smtp_stress",
      "warning: smtpd under connection stress: 160 of 200 sessions in use; clients get 10 s to talk, transfers must average 1000 bytes/s, new sessions only from IPs holding fewer than 5",
    ],
    [
      "pop3_stress",
      "warning: pop3d under connection stress: 16 of 20 sessions in use; stress mode is off",
    ],
    ["smtp_stress", "smtpd connection stress over: 119 of 200 sessions in use"],
  ]);
  assertEquals(records[0].fields, { stressed: true, inUse: 160, maxTotal: 200 });
});
