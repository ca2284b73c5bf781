import { assertEquals } from "../../tests/assert.ts";
import { expandVerp, stripVerpMarker } from "./verp.ts";

Deno.test("expandVerp rewrites P@H-@[] per recipient (§4.6)", () => {
  assertEquals(
    expandVerp("list-owner-@example.org-@[]", "joe@x.com"),
    "list-owner-joe=x.com@example.org",
  );
  assertEquals(expandVerp("list-owner-@example.org-@[]", "joe"), "list-owner-@example.org-@[]");
  assertEquals(expandVerp("noat-@[]", "joe@x.com"), "noat-@[]");
  assertEquals(expandVerp("plain@example.org", "joe@x.com"), "plain@example.org");
  assertEquals(expandVerp("", "joe@x.com"), "");
  assertEquals(expandVerp("a@b-@[]", "u@v@w"), "au@v=w@b");
});

Deno.test("stripVerpMarker removes a trailing -@[] (§4.8 step 2)", () => {
  assertEquals(stripVerpMarker("owner-@host-@[]"), "owner-@host");
  assertEquals(stripVerpMarker("owner@host"), "owner@host");
  assertEquals(stripVerpMarker("-@[]"), "");
  assertEquals(stripVerpMarker("#@[]"), "#@[]");
});
