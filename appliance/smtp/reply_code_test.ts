import { assert, assertEquals } from "../../tests/assert.ts";
import { isLastReplyLine, replyCode } from "./reply_code.ts";

Deno.test("client: a reply ends at a line without '-'; its code, else 451", () => {
  assert(!isLastReplyLine("250-first"));
  assert(isLastReplyLine("250 last"));
  assert(isLastReplyLine("250"));
  assertEquals(replyCode(["250 ok"]), 250);
  assertEquals(replyCode(["xyz"]), 451);
});
