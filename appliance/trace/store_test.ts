import { assert, assertEquals } from "../../tests/assert.ts";
import type { SessionTrace } from "../filters/filter.ts";
import { findTraces, listTraceFiles, TraceStore, traceWriter } from "./store.ts";
import { parseTraceLine } from "./trace_format.ts";

const DAY = 86_400_000;
/** 2026-12-02 12:00 UTC */
const NOON = Date.parse("2026-12-02T12:00:00Z");

function trace(sessionId: string, extra: Partial<SessionTrace> = {}): SessionTrace {
  return {
    sessionId,
    start: NOON,
    remoteIp: "192.0.2.7",
    helo: "client.example",
    decisions: [{
      time: NOON + 5,
      phase: "mail",
      check: "badmailfrom",
      input: "spam@example.org",
      verdict: "refuse",
      rule: { check: "badmailfrom", source: "control/badmailfrom", line: 3, entry: "@example.org" },
      reply: "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)",
    }],
    messages: [],
    ...extra,
  };
}

/**
 * This process's open file descriptors on files under `root` (Linux). Only
 * those: test modules run in parallel in this process.
 */
function openFiles(root: string): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`).startsWith(`${root}/`)) count++;
    } catch {
      // closed since the listing
    }
  }
  return count;
}

function lines(path: string): string[] {
  return Deno.readTextFileSync(path).split("\n").filter((line) => line !== "");
}

Deno.test("trace store: one JSON line per session in log/trace/DAY.jsonl, read back whole", async () => {
  const home = await Deno.makeTempDir();
  try {
    const store = new TraceStore(`${home}/log/trace`, { now: () => NOON });
    store.append(trace("1.1"));
    store.append(trace("1.2", {
      messages: [{ queueId: "123", messageId: "<a@b>", sender: "x@y", recipients: ["r@s"] }],
    }));
    const written = lines(`${home}/log/trace/2026-12-02.jsonl`);
    assertEquals(written.length, 2);
    assertEquals(parseTraceLine(written[0]), trace("1.1"));
    assertEquals((await findTraces(home, "1.2")).map((t) => t.sessionId), ["1.2"]);
    assertEquals((await findTraces(home, "123")).map((t) => t.sessionId), ["1.2"]);
    assertEquals((await findTraces(home, "a@b")).map((t) => t.sessionId), ["1.2"]);
    assertEquals((await findTraces(home, "<a@b>")).map((t) => t.sessionId), ["1.2"]);
    assertEquals(await findTraces(home, "9.9"), []);
    assertEquals(Deno.statSync(`${home}/log/trace/2026-12-02.jsonl`).mode! & 0o777, 0o640);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("trace store: fields other than the trace's own (an AUTH user, the environment) are never written", async () => {
  const home = await Deno.makeTempDir();
  try {
    const store = new TraceStore(`${home}/log/trace`, { now: () => NOON });
    const leaky = {
      ...trace("1.1"),
      authUser: "joe@example.test",
      env: { PASSWORD: "hunter2" },
    } as SessionTrace;
    store.append(leaky);
    const text = Deno.readTextFileSync(`${home}/log/trace/2026-12-02.jsonl`);
    assert(!text.includes("hunter2"), text);
    assert(!text.includes("joe@example.test"), text);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("trace store: a new file each UTC day, and days past keepDays are deleted", async () => {
  const home = await Deno.makeTempDir();
  const directory = `${home}/log/trace`;
  try {
    let now = NOON;
    const store = new TraceStore(directory, { now: () => now, keepDays: 3 });
    for (let day = 0; day < 5; day++) {
      store.append(trace(`1.${day}`));
      now += DAY;
    }
    // Five days written, three kept: the 4th, 5th and 6th of December.
    assertEquals(listTraceFiles(directory).map((file) => file.day), [
      "2026-12-06",
      "2026-12-05",
      "2026-12-04",
    ]);
    // Files that are not trace files are left alone.
    Deno.writeTextFileSync(`${directory}/notes.txt`, "mine");
    store.append(trace("1.9"));
    assertEquals(Deno.readTextFileSync(`${directory}/notes.txt`), "mine");
    assertEquals(await findTraces(home, "1.0"), []);
    assertEquals((await findTraces(home, "1.4")).length, 1);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("trace store: over the size cap the oldest days go, then today's later traces are dropped", async () => {
  const home = await Deno.makeTempDir();
  const directory = `${home}/log/trace`;
  try {
    const size = new TextEncoder().encode(`${JSON.stringify({ v: 1, ...trace("1.1") })}\n`).length;
    let now = NOON;
    const warnings: string[] = [];
    const store = new TraceStore(directory, {
      now: () => now,
      maxBytes: size * 4,
      warn: (text) => warnings.push(text),
    });
    for (let i = 0; i < 3; i++) store.append(trace(`1.${i}`));
    now += DAY;
    // The new day: yesterday's three lines plus today's two would be five, over four.
    store.append(trace("2.0"));
    store.append(trace("2.1"));
    assertEquals(listTraceFiles(directory).map((file) => file.day), ["2026-12-03"]);
    assertEquals(warnings, []);
    // Today alone reaches the cap: each write checks once over 1/16 of it, so later ones drop.
    for (let i = 2; i < 8; i++) {
      store.append(trace(`2.${i}`));
    }
    const kept = lines(`${directory}/2026-12-03.jsonl`).length;
    assertEquals(kept, 4);
    assertEquals(store.dropped, 8 - kept);
    assertEquals(warnings.length, 1, warnings.join("\n"));
    assert(warnings[0].includes("2026-12-03"), warnings[0]);
    // The next day writes again.
    now += DAY;
    store.append(trace("3.0"));
    assertEquals(lines(`${directory}/2026-12-04.jsonl`).length, 1);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("trace store: a write failure is reported once, never thrown; the writer returns at once", async () => {
  const home = await Deno.makeTempDir();
  try {
    // The trace directory's place is taken by a file: every write fails.
    Deno.mkdirSync(`${home}/log`);
    Deno.writeTextFileSync(`${home}/log/trace`, "not a directory");
    const warnings: string[] = [];
    const write = traceWriter(home, { now: () => NOON, warn: (text) => warnings.push(text) });
    const returned = write(trace("1.1"));
    assertEquals(returned, undefined);
    write(trace("1.2"));
    assertEquals(warnings.length, 1, warnings.join("\n"));
    assert(warnings[0].includes(`${home}/log/trace`), warnings[0]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("trace store: the day's file is held up to a second; one removed meanwhile comes back; close", async () => {
  const home = await Deno.makeTempDir();
  const path = `${home}/log/trace/2026-12-02.jsonl`;
  try {
    const before = openFiles(home);
    let now = NOON;
    const write = traceWriter(home, { now: () => now });
    write(trace("1.1"));
    // An operator removes today's file: the held handle still takes this second's traces...
    Deno.removeSync(path);
    write(trace("1.2"));
    assertEquals(listTraceFiles(`${home}/log/trace`), []);
    // ...and the next second's go to the file opened again.
    now += 1000;
    write(trace("1.3"));
    assertEquals(lines(path).map((line) => parseTraceLine(line)?.sessionId), ["1.3"]);
    // Closed (a reload): sessions that outlive it still write, and nothing stays open.
    write.close!();
    write(trace("1.4"));
    assertEquals(lines(path).map((line) => parseTraceLine(line)?.sessionId), ["1.3", "1.4"]);
    assertEquals(openFiles(home), before);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("trace store: findTraces reads newest day first and skips torn lines", async () => {
  const home = await Deno.makeTempDir();
  const directory = `${home}/log/trace`;
  try {
    Deno.mkdirSync(directory, { recursive: true });
    const line = (id: string, start: number) =>
      JSON.stringify({ v: 1, ...trace(id, { start }) }) + "\n";
    Deno.writeTextFileSync(`${directory}/2026-12-01.jsonl`, line("1.1", NOON - DAY));
    Deno.writeTextFileSync(
      `${directory}/2026-12-02.jsonl`,
      line("1.1", NOON) + '{"v":1,"sessionId":"1.1","sta' + "\n" + line("1.1", NOON + 1),
    );
    const found = await findTraces(home, "1.1");
    assertEquals(found.map((t) => t.start), [NOON + 1, NOON, NOON - DAY]);
    assertEquals((await findTraces(home, "1.1", 2)).length, 2);
    assertEquals(await findTraces(`${home}/nowhere`, "1.1"), []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
