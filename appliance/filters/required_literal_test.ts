import { assertEquals } from "../../tests/assert.ts";
import { requiredLiteral } from "./required_literal.ts";

Deno.test("requiredLiteral: the longest plain run every match contains", () => {
  assertEquals(requiredLiteral("^[a-z0-9.]+@mailer12\\.spam\\.example$"), "@mailer12.spam.example");
  assertEquals(requiredLiteral("^[a-z]+7\\.dyn\\.example$"), "7.dyn.example");
  assertEquals(requiredLiteral(".*Viagra.*"), "viagra", "lower-cased, as the subjects are");
  assertEquals(requiredLiteral("spam\\d+@junk"), "@junk", "the longest run");
  assertEquals(requiredLiteral("(foo|bar)@baz\\.example"), "@baz.example", "a group is skipped");
  assertEquals(requiredLiteral("[|(]abc]?defg"), "defg", "brackets inside a class");
});

Deno.test("requiredLiteral: quantified characters, alternation and unread escapes", () => {
  assertEquals(requiredLiteral("abcd?efgh"), "efgh", "d may be absent");
  assertEquals(requiredLiteral("abcde+"), "abcd");
  assertEquals(requiredLiteral("abcde{0,2}"), "abcd");
  assertEquals(requiredLiteral("abc|defgh"), undefined, "either side may match");
  assertEquals(requiredLiteral("ab"), undefined, "too short to be worth it");
  assertEquals(requiredLiteral("\\x41bcdef"), undefined, "an escape not read here ends the search");
  assertEquals(requiredLiteral("xyzw\\u0041"), "xyzw", "what came before it stands");
  assertEquals(requiredLiteral("(unbalanced"), undefined);
  assertEquals(requiredLiteral("caf\u00e9bar"), "caf", "only ASCII is kept");
});
