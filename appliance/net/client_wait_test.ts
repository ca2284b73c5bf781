import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import {
  checkWait,
  clientWaitState,
  commandDeadline,
  type ConnectionStress,
  dataDeadline,
  type WaitCheck,
  waitForClient,
} from "./client_wait.ts";
import { DeadlineExceeded, ReadTimeout } from "./connection_io.ts";

const T0 = 1_700_000_000_000;
const SECOND = 1000;

/** Stress mode with timeoutstress 10 and dataratestress 1000, on or off as the test says. */
function stress(on: boolean, overrides: Partial<ConnectionStress> = {}): ConnectionStress {
  return { active: () => on, seconds: 10, dataRate: 1000, ...overrides };
}

function cutText(check: WaitCheck): string | undefined {
  return "cut" in check ? check.cut.message : undefined;
}

function wakeAt(check: WaitCheck): number | undefined {
  return "wakeAt" in check ? check.wakeAt : undefined;
}

Deno.test("checkWait: without stress a read waits timeoutsmtpd, and a deadline cuts it sooner", () => {
  const read = { start: T0, seconds: 1200 };
  assertEquals(wakeAt(checkWait(read, undefined, T0)), T0 + 1200 * SECOND);
  const timedOut = checkWait(read, undefined, T0 + 1200 * SECOND);
  assert("cut" in timedOut && !(timedOut.cut instanceof DeadlineExceeded));
  assertEquals(timedOut.cut.message, "");
  const line = { ...read, deadline: commandDeadline(120, T0 - 115 * SECOND) };
  assertEquals(wakeAt(checkWait(line, undefined, T0)), T0 + 5 * SECOND);
  const late = checkWait(line, undefined, T0 + 5 * SECOND);
  assert("cut" in late && late.cut instanceof DeadlineExceeded);
  assertEquals(late.cut.message, "command line not finished within 120 s");
  // timeoutcommand 0: no deadline of its own.
  assertEquals(commandDeadline(0, T0).at, Infinity);
});

Deno.test("checkWait: calm, a wait looks at the stress again every timeoutstress seconds", () => {
  const read = { start: T0, seconds: 1200 };
  assertEquals(wakeAt(checkWait(read, stress(false), T0)), T0 + 10 * SECOND);
  assertEquals(wakeAt(checkWait(read, stress(false), T0 + 600 * SECOND)), T0 + 610 * SECOND);
  // timeoutstress 0: stress mode changes no wait.
  const off = stress(true, { seconds: 0 });
  assertEquals(wakeAt(checkWait(read, off, T0 + 600 * SECOND)), T0 + 1200 * SECOND);
});

Deno.test("checkWait: under stress an idle client is cut after timeoutstress, however long ago it began", () => {
  const read = { start: T0, seconds: 1200 };
  assertEquals(wakeAt(checkWait(read, stress(true), T0 + 3 * SECOND)), T0 + 10 * SECOND);
  const cut = checkWait(read, stress(true), T0 + 10 * SECOND);
  assert("cut" in cut && cut.cut instanceof ReadTimeout && !(cut.cut instanceof DeadlineExceeded));
  assertEquals(cut.cut.message, "no input for 10 s under connection stress");
  // A session idle since before the stress began: cut at its first look under stress.
  assertEquals(
    cutText(checkWait(read, stress(true), T0 + 300 * SECOND)),
    "no input for 10 s under connection stress",
  );
});

Deno.test("checkWait: under stress a command line must end within timeoutstress however the bytes trickle", () => {
  const deadline = commandDeadline(120, T0);
  // The read began just now (a byte came 1 s ago): the line began 9 s ago.
  const read = { start: T0 + 9 * SECOND, seconds: 1200, deadline };
  assertEquals(wakeAt(checkWait(read, stress(true), T0 + 9 * SECOND)), T0 + 10 * SECOND);
  assertEquals(wakeAt(checkWait(read, stress(false), T0 + 9 * SECOND)), T0 + 19 * SECOND);
  const cut = checkWait({ ...read, start: T0 + 10 * SECOND }, stress(true), T0 + 10 * SECOND);
  assert("cut" in cut && cut.cut instanceof DeadlineExceeded);
  assertEquals(cut.cut.message, "command line not finished within 10 s under connection stress");
});

Deno.test("checkWait: under stress DATA may fall timeoutstress seconds behind dataratestress", () => {
  // 60 s after the 354: a client at 10 kB/s is far ahead; one at 5 bytes/s is cut.
  const now = T0 + 60 * SECOND;
  const prompt = dataDeadline(1200, T0);
  prompt.received = 600_000;
  const read = { start: now - 100, seconds: 1200, deadline: prompt };
  assertEquals(wakeAt(checkWait(read, stress(true), now)), now - 100 + 10 * SECOND);
  const slow = dataDeadline(1200, T0);
  slow.received = 300;
  const cut = checkWait({ ...read, deadline: slow }, stress(true), now);
  assert("cut" in cut && cut.cut instanceof DeadlineExceeded);
  assertEquals(cut.cut.message, "DATA slower than 1000 bytes/s under connection stress");
  // 50,000 bytes after 60 s: 50 s worth at the rate, exactly timeoutstress behind.
  slow.received = 50_000;
  assertEquals(cutText(checkWait({ ...read, deadline: slow }, stress(true), now)), cut.cut.message);
  slow.received = 50_001;
  assertEquals(wakeAt(checkWait({ ...read, deadline: slow }, stress(true), now)), now + 1);
  // dataratestress 0: only the wait for each read is shortened.
  slow.received = 300;
  const noRate = stress(true, { dataRate: 0 });
  assertEquals(
    wakeAt(checkWait({ ...read, deadline: slow }, noRate, now)),
    now - 100 + 10 * SECOND,
  );
  // Calm: no rate; the wait only looks at the stress again in timeoutstress seconds.
  assertEquals(
    wakeAt(checkWait({ ...read, deadline: slow }, stress(false), now)),
    now + 10 * SECOND,
  );
});

Deno.test("checkWait: under stress output must be taken within timeoutstress plus its time at the rate", () => {
  const write = { start: T0, seconds: 1200, writing: 20_000 };
  assertEquals(wakeAt(checkWait(write, stress(true), T0)), T0 + 30 * SECOND);
  assertEquals(
    cutText(checkWait(write, stress(true), T0 + 30 * SECOND)),
    "output not taken within 30 s under connection stress",
  );
  assertEquals(
    wakeAt(checkWait(write, stress(true, { dataRate: 0 }), T0)),
    T0 + 10 * SECOND,
  );
});

Deno.test("waitForClient: resolves with what the client sent, rejects with the wait's end", async () => {
  assertEquals(
    await waitForClient(Promise.resolve("line"), { start: Date.now(), seconds: 30 }, stress(true)),
    "line",
  );
  const failure = new Error("reset");
  const failed = await assertRejects(
    () => waitForClient(Promise.reject(failure), { start: Date.now(), seconds: 30 }),
  );
  assertEquals(failed, failure);
  const never = new Promise<string>(() => {});
  await assertRejects(
    () => waitForClient(never, { start: Date.now(), seconds: 0.05 }),
    ReadTimeout,
  );
});

Deno.test("waitForClient: a read that began calm is cut once the stress begins", async () => {
  let on = false;
  const watch = stress(false, { active: () => on, seconds: 0.05 });
  const never = new Promise<string>(() => {});
  const waiting = waitForClient(never, { start: Date.now(), seconds: 30 }, watch);
  const flip = setTimeout(() => on = true, 120);
  try {
    const cut = await assertRejects(() => waiting, ReadTimeout);
    assertEquals(cut.message, "no input for 0.05 s under connection stress");
  } finally {
    clearTimeout(flip);
  }
});

Deno.test("waitForClient: waits side by side are each cut at their own time, and ended ones leave no timer holding the isolate", async () => {
  const never = new Promise<string>(() => {});
  const start = Date.now();
  const cutAt: Record<string, number> = {};
  const cutTime = (name: string, seconds: number) =>
    assertRejects(() => waitForClient(never, { start, seconds }), ReadTimeout).then(() => {
      cutAt[name] = Date.now() - start;
    });
  // A wait that ends at once, between them, must not take the shared timer with it.
  const quick = waitForClient(Promise.resolve("line"), { start, seconds: 0.01 });
  await Promise.all([cutTime("late", 0.2), cutTime("early", 0.05), quick]);
  assert(cutAt.early >= 50 && cutAt.late >= 200, JSON.stringify(cutAt));
  assert(cutAt.early < cutAt.late, "the earlier wait is cut first");
  // Alone, a wait arms a 30 s timer; once it ended, the timer stays for the
  // next wait (which wakes later and holds it again) but no longer keeps the
  // isolate alive.
  for (const [seconds, line] of [[30, "x"], [60, "y"]] as const) {
    let resolve!: (line: string) => void;
    const read = waitForClient(new Promise<string>((r) => resolve = r), {
      start: Date.now(),
      seconds,
    });
    assertEquals(clientWaitState(), { waits: 1, armed: true, holding: true });
    resolve(line);
    assertEquals(await read, line);
    assertEquals(clientWaitState(), { waits: 0, armed: true, holding: false });
  }
});

Deno.test("waitForClient: an isolate whose waits all ended exits although their timer is armed", async () => {
  // A process that waited once with a 600 s timeout must end by itself, at once.
  const module = new URL("./client_wait.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { waitForClient, clientWaitState } from "${module}";
       await waitForClient(Promise.resolve("line"), { start: Date.now(), seconds: 600 });
       console.log(JSON.stringify(clientWaitState()));`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A guard against a hang, far below the timer and far above a normal exit.
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const output = await child.output();
    assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
    assertEquals(JSON.parse(new TextDecoder().decode(output.stdout)), {
      waits: 0,
      armed: true,
      holding: false,
    });
  } finally {
    clearTimeout(guard);
  }
});
