import { assertEquals } from "../../tests/assert.ts";
import { formatQueueReceived } from "./received.ts";

Deno.test("formatQueueReceived is qmail-queue's Received line", () => {
  const date = new Date(Date.UTC(2024, 2, 5, 7, 8, 9));
  assertEquals(
    formatQueueReceived(4711, "from network", date),
    "Received: (qmail 4711 invoked from network); 5 Mar 2024 07:08:09 -0000\n",
  );
  assertEquals(
    formatQueueReceived("12", "by uid 1000", date),
    "Received: (qmail 12 invoked by uid 1000); 5 Mar 2024 07:08:09 -0000\n",
  );
});
