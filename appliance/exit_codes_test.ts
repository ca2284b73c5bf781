import { assertEquals } from "../tests/assert.ts";
import { EXIT, isPermanentQueueExit, QUEUE_EXIT } from "./exit_codes.ts";
import { qmailCloseText } from "./queue/queue_error.ts";
import { parseStatusText } from "./mail_error.ts";

Deno.test("qmail's exit codes keep their numbers", () => {
  assertEquals(EXIT, { ok: 0, sessionEnded: 1, usage: 64, permanent: 100, temporary: 111 });
});

Deno.test("isPermanentQueueExit: 11 to 40, nothing else", () => {
  const permanent = [0, 10, 11, 31, 40, 41, 54, 82, 91, 111].filter(isPermanentQueueExit);
  assertEquals(permanent, [11, 31, 40]);
});

Deno.test("every named qmail-queue code reads as permanent exactly when qmail_close says D", () => {
  for (const [name, code] of Object.entries(QUEUE_EXIT)) {
    if (code === QUEUE_EXIT.ok) continue;
    // qmail_close maps its alias 115 onto 11's D text although 115 is outside 11..40.
    const permanent = isPermanentQueueExit(code) || code === QUEUE_EXIT.addressTooLongAlias;
    assertEquals(!parseStatusText(qmailCloseText(code)).temporary, permanent, name);
  }
});
