import { assertEquals } from "../../tests/assert.ts";
import { setLogSink } from "../log.ts";
import { answerSupervisorRequests } from "./supervisor_requests.ts";

Deno.test("the supervisor answers its own kind of request files only, and drops stale replies", async () => {
  const home = await Deno.makeTempDir();
  const logged: string[] = [];
  setLogSink((record) => logged.push(`${record.event} ${record.text}`), "supervisor");
  try {
    const lock = `${home}/queue/lock`;
    Deno.mkdirSync(lock, { recursive: true });
    Deno.writeTextFileSync(`${lock}/queuereq.10`, "one");
    Deno.writeTextFileSync(`${lock}/queuereq.11`, "two");
    Deno.writeTextFileSync(`${lock}/queuereq.12`, "unreadable");
    Deno.writeTextFileSync(`${lock}/authreq.13`, "status\n");
    Deno.writeTextFileSync(`${lock}/queuereq.14.reply`, "old");
    Deno.utimeSync(`${lock}/queuereq.14.reply`, 1_000_000, 1_000_000);
    Deno.writeTextFileSync(`${lock}/queuereq.x`, "not a pid");
    const seen: string[] = [];
    await answerSupervisorRequests(home, "queuereq", async (text) => {
      seen.push(text);
      await Promise.resolve();
      if (text === "unreadable") throw new Error("cannot answer");
      return text.toUpperCase();
    });
    assertEquals(seen, ["one", "two", "unreadable"]);
    const names = [...Deno.readDirSync(lock)].map((entry) => entry.name).sort();
    assertEquals(names, ["authreq.13", "queuereq.10.reply", "queuereq.11.reply", "queuereq.x"]);
    assertEquals(Deno.readTextFileSync(`${lock}/queuereq.11.reply`), "TWO");
    assertEquals(logged, [`queuereq_failed alert: ${lock}/queuereq.12: cannot answer`]);
  } finally {
    setLogSink((record) => console.log(record.text), "main");
    await Deno.remove(home, { recursive: true });
  }
});
