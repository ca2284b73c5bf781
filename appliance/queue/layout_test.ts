import { assertEquals } from "../../tests/assert.ts";
import { QueueLayout, queueName } from "./layout.ts";

const layout = new QueueLayout("/var/qmd/queue", { split: 23, todoSplit: true });

Deno.test("layout: a job's relative mess name leads back to mess/NN/ID", () => {
  assertEquals(layout.messName(457n), "20/457");
  assertEquals(layout.messFromName(layout.messName(457n)), layout.mess(457n));
  assertEquals(layout.mess(457n), "/var/qmd/queue/mess/20/457");
});

Deno.test("layout: top-level directories, lock files and names relative to the queue", () => {
  assertEquals(layout.directory("mess"), "/var/qmd/queue/mess");
  assertEquals(layout.directory("todo"), "/var/qmd/queue/todo");
  assertEquals(layout.directories("info")[5], "/var/qmd/queue/info/5");
  assertEquals(layout.tcpto, "/var/qmd/queue/lock/tcpto");
  assertEquals(layout.trigger, "/var/qmd/queue/lock/trigger");
  assertEquals(queueName(layout, layout.todo(457n)), "todo/20/457");
  assertEquals(queueName(layout, "/elsewhere/x"), "/elsewhere/x");
});
