import { assertEquals } from "../../tests/assert.ts";
import {
  bucketDirectory,
  INTAKE_DIRECTORIES,
  lockFile,
  QUEUE_DIRECTORIES,
  queueDirectory,
  QueueLayout,
  queueName,
} from "./layout.ts";

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
  assertEquals(layout.supervisorPid, "/var/qmd/queue/lock/supervisor.pid");
  assertEquals(queueName(layout, layout.todo(457n)), "todo/20/457");
  assertEquals(queueName(layout, "/elsewhere/x"), "/elsewhere/x");
});

Deno.test("layout: paths of a queue without a layout object (no split detection)", () => {
  assertEquals(queueDirectory("/q", "pid"), "/q/pid");
  assertEquals(bucketDirectory("/q", "todo", 0), "/q/todo/0");
  assertEquals(lockFile("/q", "sendmutex"), "/q/lock/sendmutex");
  assertEquals(INTAKE_DIRECTORIES.map((name) => queueDirectory("/q", name)), [
    "/q/pid",
    "/q/mess",
    "/q/intd",
    "/q/todo",
  ]);
});

Deno.test("layout: the install's directories, and which are found split", () => {
  // hier.c's order and modes (docs/queue-format.md §2.1); big-todo splits intd/ and todo/ (§2.4).
  assertEquals(
    QUEUE_DIRECTORIES.map(({ name, mode, split }) => `${name} ${mode.toString(8)} ${split}`),
    [
      "pid 700 none",
      "mess 750 split",
      "intd 700 big-todo",
      "todo 750 big-todo",
      "info 700 split",
      "local 700 split",
      "remote 700 split",
      "bounce 700 none",
      "lock 750 none",
    ],
  );
  const small = new QueueLayout("/q", { split: 2, todoSplit: true });
  assertEquals(small.directories("mess"), ["/q/mess/0", "/q/mess/1"]);
  assertEquals(small.directories("todo"), ["/q/todo", "/q/todo/0", "/q/todo/1"]);
  assertEquals(small.directories("bounce"), ["/q/bounce"]);
});
