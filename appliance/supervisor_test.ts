import { assertEquals, assertMatch } from "../tests/assert.ts";
import { Supervisor } from "./supervisor.ts";

Deno.test("supervisor: a crashed isolate is restarted with a log line while the others keep running", async () => {
  const lines: string[] = [];
  const supervisor = new Supervisor({
    home: "/nonexistent",
    smtp: [],
    smtpdWorkers: 2,
    logFormat: "text",
    graceSeconds: 5,
    env: {},
    writeLine: (line) => lines.push(line),
    roles: [{
      name: "smtpd",
      module: new URL("../tests/fixtures/crashing_role.ts", import.meta.url),
      count: 2,
      permissions: {
        read: false,
        write: false,
        net: false,
        env: false,
        run: false,
        ffi: false,
        sys: false,
      },
      options: (index) => ({ index: index + 1 }),
    }],
  });
  await supervisor.start();
  supervisor.reload();
  const deadline = Date.now() + 10_000;
  while (
    Date.now() < deadline && lines.filter((line) => line.endsWith("role 1 started")).length < 2
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const crash = lines.find((line) => line.includes("crashed"));
  assertMatch(crash ?? "", /alert: smtpd 1 crashed \(.*boom.*\); restarting in 1000 ms$/);
  assertEquals(lines.filter((line) => line.endsWith("role 1 started")).length, 2);
  assertEquals(lines.filter((line) => line.endsWith("role 2 started")).length, 1);
  assertEquals(lines.some((line) => line.endsWith("role 2 reloaded")), true);
  await supervisor.drain();
});
