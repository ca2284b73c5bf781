import { assertEquals } from "../../tests/assert.ts";
import {
  datechecksCheck,
  type DatechecksSettings,
  expiredBy,
  parseDateStamp,
  REPLY_ADDRESS_EXPIRED,
} from "./datechecks.ts";
import { type FilterRequest, PASS } from "./filter.ts";

/** Seed 000's example day: 2004-11-14, in the afternoon. */
const NOW = Date.UTC(2004, 10, 14, 15, 30);
const CHECKS = [{ prefix: "qmail-list-", days: 7, line: 2 }];

function rcpt(recipient: string, now = NOW): FilterRequest {
  return {
    phase: "rcpt",
    remoteIp: "192.0.2.1",
    env: {},
    relaying: false,
    tls: false,
    recipient,
    recipients: [],
    now,
  };
}

const SETTINGS: DatechecksSettings = { source: "control/datechecks", checks: CHECKS, log: true };

Deno.test("parseDateStamp: real dates only", () => {
  assertEquals(parseDateStamp("20041114"), Date.UTC(2004, 10, 14));
  assertEquals(parseDateStamp("20040229"), Date.UTC(2004, 1, 29));
  assertEquals(parseDateStamp("20050229"), undefined);
  assertEquals(parseDateStamp("20041301"), undefined);
  assertEquals(parseDateStamp("2004111"), undefined);
  assertEquals(parseDateStamp("2004x114"), undefined);
});

Deno.test("datechecks: seed 000's example, qmail-list-:7 on 2004-11-14", () => {
  assertEquals(expiredBy(CHECKS, "qmail-list-20041213", NOW), undefined);
  assertEquals(expiredBy(CHECKS, "qmail-list-20041103", NOW), CHECKS[0]);
  // Valid for 7 days: the 7th is still good, the 6th is not.
  assertEquals(expiredBy(CHECKS, "qmail-list-20041107", NOW), undefined);
  assertEquals(expiredBy(CHECKS, "qmail-list-20041106", NOW), CHECKS[0]);
  // More after the date (an ezmlm-style suffix) is allowed; case does not matter.
  assertEquals(expiredBy(CHECKS, "QMAIL-LIST-20041103-return-5", NOW), CHECKS[0]);
  // No date after the prefix, or another prefix: not this check's business.
  assertEquals(expiredBy(CHECKS, "qmail-list-subscribe", NOW), undefined);
  assertEquals(expiredBy(CHECKS, "qmail-list-20041399", NOW), undefined);
  assertEquals(expiredBy(CHECKS, "news-20041103", NOW), undefined);
});

Deno.test("datechecks: refuses at RCPT naming the line, logs when control/log/datechecks is on", () => {
  const verdict = datechecksCheck.check(rcpt("qmail-list-20041103@example.net"), SETTINGS);
  assertEquals(
    verdict,
    {
      kind: "refuse",
      reply: [REPLY_ADDRESS_EXPIRED],
      rule: { check: "datechecks", source: "control/datechecks", line: 2, entry: "qmail-list-:7" },
      log:
        "datechecks: <qmail-list-20041103@example.net> expired (control/datechecks line 2: qmail-list-:7)",
    } as unknown as typeof verdict,
  );
  const quiet = datechecksCheck.check(rcpt("qmail-list-20041103@example.net"), {
    ...SETTINGS,
    log: false,
  }) as { log?: string };
  assertEquals(quiet.log, undefined);
  assertEquals(datechecksCheck.check(rcpt("qmail-list-20041213@example.net"), SETTINGS), PASS);
  // The local part is what is checked, not the domain.
  assertEquals(datechecksCheck.check(rcpt("a@qmail-list-20041103.example"), SETTINGS), PASS);
});
