import { assertEquals } from "../tests/assert.ts";
import { isTemporary, MailError } from "./mail_error.ts";

Deno.test("MailError keeps the peer text apart from the log reason", () => {
  const cause = new Error("EACCES");
  const error = new MailError("Cannot write /q/mess/1/99", {
    temporary: true,
    peerText: "qq write error or disk full (#4.3.0)",
    replyCode: 451,
    enhancedCode: "4.3.0",
    cause,
  });
  assertEquals(error.message, "Cannot write /q/mess/1/99");
  assertEquals(error.logReason, "Cannot write /q/mess/1/99");
  assertEquals(error.peerText, "qq write error or disk full (#4.3.0)");
  assertEquals([error.replyCode, error.enhancedCode], [451, "4.3.0"]);
  assertEquals(error.cause, cause);
  assertEquals(error.name, "MailError");
});

Deno.test("MailError without peer text or log reason uses its message for both", () => {
  const error = new MailError("Sorry, no mailbox here by that name. (#5.1.1)", {
    temporary: false,
  });
  assertEquals(error.peerText, error.message);
  assertEquals(error.logReason, error.message);
  assertEquals([error.replyCode, error.enhancedCode], [undefined, undefined]);
  assertEquals("cause" in error, false);
});

Deno.test("isTemporary: only a MailError that says so is permanent", () => {
  assertEquals(isTemporary(new MailError("x", { temporary: false })), false);
  assertEquals(isTemporary(new MailError("x", { temporary: true })), true);
  // When unsure, temporary: bugs, unwrapped I/O errors, things that are not errors.
  assertEquals(isTemporary(new Error("x")), true);
  assertEquals(isTemporary(new Deno.errors.PermissionDenied("x")), true);
  assertEquals(isTemporary(Object.assign(new Error("x"), { temporary: false })), true);
  assertEquals(isTemporary("x"), true);
  assertEquals(isTemporary(undefined), true);
});
