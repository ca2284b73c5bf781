import { assertEquals } from "../../tests/assert.ts";
import { runQmailStart } from "./qmail_start.ts";
import type { StartWiring } from "./start.ts";

Deno.test("qmail-start: the first argument is the default delivery; nothing else means none", async () => {
  const seen: string[][] = [];
  const start = (args: string[]) => {
    seen.push(args);
    return Promise.resolve(0);
  };
  assertEquals(await runQmailStart(["./Mailbox"], start), 0);
  assertEquals(await runQmailStart([], start), 0);
  assertEquals(seen, [["--default-delivery", "./Mailbox"], []]);
});

Deno.test("qmail-start: a logger program gets the activity log on its standard input", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qmd-qmail-start-" });
  try {
    const log = `${dir}/log`;
    const start = (args: string[], wiring?: StartWiring) => {
      assertEquals(args, ["--default-delivery", "./Maildir/"]);
      wiring?.writeLine?.("status: local 0/10 remote 0/20");
      wiring?.writeLine?.("new msg 42");
      return Promise.resolve(0);
    };
    const code = await runQmailStart(["./Maildir/", "/bin/sh", "-c", `cat > ${log}`], start);
    assertEquals(code, 0);
    assertEquals(Deno.readTextFileSync(log), "status: local 0/10 remote 0/20\nnew msg 42\n");
    // A logger that cannot be started is one line and a temporary failure.
    assertEquals(await runQmailStart(["./Maildir/", `${dir}/no-such-logger`], start), 111);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
