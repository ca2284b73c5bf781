import { assertEquals } from "../../tests/assert.ts";
import { DAY_MS, HOUR_MS, nextAcmeOrder, retryDelayMs } from "./acme_schedule.ts";

const NOW = new Date("2026-12-03T06:00:00Z");
const NAMES = ["mail.example.test"];
const NO_FAILURES = { failures: 0 };

function issued(daysLeft: number, names = NAMES) {
  return { notAfter: new Date(NOW.getTime() + daysLeft * DAY_MS), names, selfSigned: false };
}

Deno.test("acme schedule: no certificate, a self-signed one or a missing name: order now", () => {
  const cases = [
    [undefined, "no certificate"],
    [{ ...issued(80), selfSigned: true }, "the certificate is self-signed"],
    [issued(80, ["other.example.test"]), "the certificate lacks mail.example.test"],
  ] as const;
  for (const [served, reason] of cases) {
    const decision = nextAcmeOrder(NOW, NAMES, 30, served, NO_FAILURES);
    assertEquals(decision.orderAt, NOW, reason);
    assertEquals(decision.checkAt, NOW, reason);
    assertEquals(decision.reason, reason);
  }
});

Deno.test("acme schedule: renewal is due renewDays before expiry, looked at daily before", () => {
  // 89 days left: due in 59 days; the renewer looks again tomorrow.
  const far = nextAcmeOrder(NOW, NAMES, 30, issued(89), NO_FAILURES);
  assertEquals(far.orderAt.getTime(), NOW.getTime() + 59 * DAY_MS);
  assertEquals(far.checkAt.getTime(), NOW.getTime() + DAY_MS);
  assertEquals(far.reason, "the certificate expires 2027-03-02T06:00:00Z");
  // 30 days and an hour left: due in an hour, and looked at then.
  const near = nextAcmeOrder(NOW, NAMES, 30, issued(30 + 1 / 24), NO_FAILURES);
  assertEquals(near.orderAt.getTime(), NOW.getTime() + HOUR_MS);
  assertEquals(near.checkAt.getTime(), NOW.getTime() + HOUR_MS);
  // 29 days left: due (in the past), looked at now.
  const due = nextAcmeOrder(NOW, NAMES, 30, issued(29), NO_FAILURES);
  assertEquals(due.orderAt.getTime(), NOW.getTime() - DAY_MS);
  assertEquals(due.checkAt, NOW);
  // The renew days are the operator's.
  const late = nextAcmeOrder(NOW, NAMES, 10, issued(29), NO_FAILURES);
  assertEquals(late.orderAt.getTime(), NOW.getTime() + 19 * DAY_MS);
});

Deno.test("acme schedule: failures back off 1 h doubling to 24 h", () => {
  assertEquals([0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => retryDelayMs(n) / HOUR_MS), [
    0,
    1,
    2,
    4,
    8,
    16,
    24,
    24,
    24,
  ]);
  const lastFailure = new Date(NOW.getTime() - 30 * 60 * 1000);
  const retry = nextAcmeOrder(NOW, NAMES, 30, undefined, { failures: 2, lastFailure });
  assertEquals(retry.orderAt.getTime(), lastFailure.getTime() + 2 * HOUR_MS);
  assertEquals(retry.checkAt, retry.orderAt);
  assertEquals(retry.reason, "no certificate; retrying after 2 failed attempts");
  // A failure whose wait is over does not hold back an order that is due.
  const old = nextAcmeOrder(NOW, NAMES, 30, issued(10), {
    failures: 1,
    lastFailure: new Date(NOW.getTime() - 2 * HOUR_MS),
  });
  assertEquals(old.orderAt.getTime(), NOW.getTime() - HOUR_MS);
  assertEquals(old.checkAt, NOW);
});

Deno.test("acme schedule: no new order within a day of the last issued one", () => {
  const lastIssued = new Date(NOW.getTime() - HOUR_MS);
  // The CA gave a 7-day certificate (renew 30) or left out a name: wait, do not loop.
  for (const served of [issued(7), issued(80, ["other.example.test"])]) {
    const decision = nextAcmeOrder(NOW, NAMES, 30, served, { failures: 0, lastIssued });
    assertEquals(decision.orderAt.getTime(), lastIssued.getTime() + DAY_MS);
    assertEquals(decision.checkAt, decision.orderAt);
    assertEquals(decision.reason.endsWith("; the last one was issued less than a day ago"), true);
  }
  // Two days later the order goes ahead.
  const later = nextAcmeOrder(NOW, NAMES, 30, issued(7), {
    failures: 0,
    lastIssued: new Date(NOW.getTime() - 2 * DAY_MS),
  });
  assertEquals(later.orderAt.getTime(), NOW.getTime() - DAY_MS);
  assertEquals(later.checkAt, NOW);
});
