import { assertEquals } from "../../tests/assert.ts";
import { diffLines } from "./line_diff.ts";

Deno.test("line diff: kept, removed and added lines in order", () => {
  assertEquals(diffLines("a\nb\nc\n", "a\nc\nd\n"), [
    { kind: " ", text: "a" },
    { kind: "-", text: "b" },
    { kind: " ", text: "c" },
    { kind: "+", text: "d" },
  ]);
  assertEquals(diffLines("", "x\n"), [{ kind: "+", text: "x" }]);
  assertEquals(diffLines("x\n", ""), [{ kind: "-", text: "x" }]);
  assertEquals(diffLines("same\n", "same\n"), [{ kind: " ", text: "same" }]);
});
