import { assertEquals } from "../../tests/assert.ts";
import type { QueuedMessage } from "../queue/control_request.ts";
import { parseSearch, searchMessages } from "./queue_search.ts";

function message(
  id: string,
  sender: string,
  recipients: string[],
  state: QueuedMessage["state"],
  held = false,
): QueuedMessage {
  return {
    id,
    state,
    held,
    birth: 0,
    size: 1,
    sender,
    nextRetry: {},
    delivering: false,
    recipients: recipients.map((address) => ({ address, done: false })),
  };
}

const MESSAGES = [
  message("1", "joe@a.example", ["Ann@b.example"], "queued", true),
  message("2", "", ["postmaster@a.example"], "bouncing"),
  message("3", "bob@c.example", ["zed@d.example"], "unprocessed"),
];

const ids = (query: { q?: string; state?: string }) =>
  searchMessages(MESSAGES, parseSearch(query)).map((each) => each.id);

Deno.test("queue search: a sender or recipient substring, any case; a state; both at once", () => {
  assertEquals(ids({}), ["1", "2", "3"]);
  assertEquals(ids({ q: "ann@B" }), ["1"]);
  assertEquals(ids({ q: " a.example " }), ["1", "2"]);
  assertEquals(ids({ state: "held" }), ["1"]);
  assertEquals(ids({ state: "bouncing" }), ["2"]);
  assertEquals(ids({ state: "unprocessed" }), ["3"]);
  assertEquals(ids({ q: "a.example", state: "queued" }), ["1"]);
  assertEquals(ids({ q: "nobody" }), []);
  // An unknown state is any state.
  assertEquals(parseSearch({ state: "lost" }), { text: "" });
});

Deno.test("queue search: a UTF-8 address (bytes in the queue) is found by its text, any case", () => {
  const bytes = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));
  const utf8 = [message("4", bytes("jörg@a.example"), [bytes("用户@例子.测试")], "queued")];
  const found = (q: string) => searchMessages(utf8, parseSearch({ q })).map((each) => each.id);
  assertEquals(found("JÖRG"), ["4"]);
  assertEquals(found("例子"), ["4"]);
  assertEquals(found("ä"), []);
});
