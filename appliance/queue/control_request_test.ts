import { assertEquals } from "../../tests/assert.ts";
import { isMessageId, parseQueueRequest, type QueueRequest } from "./control_request.ts";

Deno.test("queue requests survive their JSON; anything else is refused", () => {
  const requests: QueueRequest[] = [
    { action: "list" },
    { action: "show", id: "2158931" },
    { action: "hold", ids: ["1", "18446744073709551615"] },
    { action: "bounce", ids: ["7"], reason: "Gone." },
    { action: "yank", ids: ["7"], directory: "/var/qmd/queue/yanked" },
  ];
  for (const request of requests) {
    assertEquals(parseQueueRequest(JSON.stringify(request)), request);
  }
  for (
    const text of [
      "",
      "null",
      '"list"',
      '{"action":"drop"}',
      '{"action":"show","id":"../1"}',
      '{"action":"remove","ids":[]}',
      '{"action":"remove","ids":[7]}',
      '{"action":"bounce","ids":["7"],"reason":""}',
      '{"action":"yank","ids":["7"],"directory":"relative"}',
    ]
  ) {
    assertEquals(parseQueueRequest(text), undefined, text);
  }
  assertEquals([isMessageId("0"), isMessageId("012"), isMessageId("12"), isMessageId("1e3")], [
    false,
    false,
    true,
    false,
  ]);
});
