import { gunzipSync } from "node:zlib";
import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { buildRemoteSecurity } from "./remote_security.ts";
import { makeTestRemote } from "./test_remote.ts";
import { parseTlsRptRecord, reportDay, type ReportPolicy } from "./tls_report.ts";
import { sendDueTlsReports } from "./tls_report_send.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

const POLICY: ReportPolicy = {
  domain: "example.test",
  type: "sts",
  strings: ["version: STSv1", "mode: enforce", "mx: mx1.example.test", "max_age: 86400"],
  mxHost: ["mx1.example.test"],
};

Deno.test("TLS-RPT record: the rua mailto: addresses of one v=TLSRPTv1 record", () => {
  assertEquals(
    parseTlsRptRecord(["v=TLSRPTv1; rua=mailto:a@x.test,https://r.test/x,mailto:b%40c@y.test"]),
    // https: is not used; "b%40c@y.test" decodes to an address with two "@": dropped.
    ["a@x.test"],
  );
  assertEquals(parseTlsRptRecord(["v=TLSRPTv1;rua=mailto:tls@x.test"]), ["tls@x.test"]);
  assertEquals(
    parseTlsRptRecord(["v=TLSRPTv1; rua=mailto:a@x.test", "v=TLSRPTv1; rua=mailto:b@x.test"]),
    [],
  );
  assertEquals(parseTlsRptRecord(["v=spf1 -all"]), []);
});

Deno.test("TLS-RPT: a finished day's counts go out as one gzipped JSON report, queued once", async () => {
  const s = await makeTestRemote(
    {
      "_smtp._tls.example.test": { txt: ["v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"] },
      "_smtp._tls.quiet.test": { txt: ["v=spf1 -all"] },
    },
    25,
    (home) => Deno.writeTextFileSync(`${home}/control/tlsrpt`, "1\n"),
  );
  try {
    s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver);
    const book = s.ctx.security.tlsReports;
    const noon = Date.parse("2026-12-01T12:00:00Z");
    const target = { mxHost: "mx1.example.test", ip: "192.0.2.1" };
    await book.record(POLICY, { ok: true }, noon);
    await book.record(POLICY, { ok: true }, noon + 1000);
    await book.record(
      POLICY,
      { ok: false, resultType: "certificate-expired", ...target },
      noon + 2000,
    );
    await book.record({ ...POLICY, domain: "quiet.test" }, { ok: true }, noon);
    // The counts are on disk: a restarted role (a new book) still has them.
    s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver);
    // The day is not over: nothing goes.
    assertEquals((await sendDueTlsReports(s.ctx, noon + 3000)).queued, []);
    // The test hook: the next day's clock.
    const round = await sendDueTlsReports(s.ctx, noon + DAY_MS);
    assertEquals(round.queued.map(({ domain, day, recipients }) => ({ domain, day, recipients })), [
      { domain: "example.test", day: "2026-12-01", recipients: ["tlsrpt@reports.test"] },
    ]);
    // An ordinary queued message: null sender, the rua address as its recipient.
    const envelope = Deno.readTextFileSync(s.ctx.layout.todo(round.queued[0].id));
    assertStringIncludes(envelope, "\0F\0Ttlsrpt@reports.test\0");
    const message = Deno.readTextFileSync(s.ctx.layout.mess(round.queued[0].id));
    assertStringIncludes(message, "TLS-Report-Domain: example.test\n");
    assertStringIncludes(message, "TLS-Report-Submitter: qmd.test\n");
    assertStringIncludes(message, 'Content-Type: multipart/report; report-type="tlsrpt"');
    assertStringIncludes(
      message,
      "Subject: Report Domain: example.test Submitter: qmd.test Report-ID: <2026-12-01.example.test@qmd.test>",
    );
    assertStringIncludes(message, "Content-Type: application/tlsrpt+gzip\n");
    const base64 = /Content-Transfer-Encoding: base64\n.*\n\n([A-Za-z0-9+/=\n]+)\n--/.exec(message);
    assert(base64 !== null, message);
    const gz = Uint8Array.from(atob(base64[1].replace(/\n/g, "")), (c) => c.charCodeAt(0));
    const report = JSON.parse(new TextDecoder().decode(gunzipSync(gz)));
    assertEquals(report["date-range"], {
      "start-datetime": "2026-12-01T00:00:00Z",
      "end-datetime": "2026-12-01T23:59:59Z",
    });
    assertEquals(report.policies.length, 1);
    assertEquals(report.policies[0].policy["policy-type"], "sts");
    assertEquals(report.policies[0].policy["mx-host"], ["mx1.example.test"]);
    assertEquals(report.policies[0].summary, {
      "total-successful-session-count": 2,
      "total-failure-session-count": 1,
    });
    assertEquals(report.policies[0]["failure-details"], [{
      "result-type": "certificate-expired",
      "receiving-mx-hostname": "mx1.example.test",
      "receiving-ip": "192.0.2.1",
      "failed-session-count": 1,
    }]);
    // Once queued, a day is forgotten: the next round sends nothing.
    assertEquals((await sendDueTlsReports(s.ctx, noon + DAY_MS)).queued, []);
    assertEquals(s.ctx.security.tlsReports.daysBefore(reportDay(noon + DAY_MS)), []);
  } finally {
    await s.close();
  }
});

Deno.test("TLS-RPT: without control/tlsrpt the counts are kept and nothing is sent", async () => {
  const s = await makeTestRemote({
    "_smtp._tls.example.test": { txt: ["v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"] },
  }, 25);
  try {
    s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver);
    const noon = Date.parse("2026-12-01T12:00:00Z");
    await s.ctx.security.tlsReports.record(POLICY, { ok: true }, noon);
    assertEquals((await sendDueTlsReports(s.ctx, noon + DAY_MS)).queued, []);
    assertEquals(s.ctx.security.tlsReports.daysBefore("2026-12-02"), ["2026-12-01"]);
  } finally {
    await s.close();
  }
});
