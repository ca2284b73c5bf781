import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { main } from "./flush.ts";
import { findSupervisor } from "../home/running.ts";

async function withHome(run: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-flush-" });
  try {
    makeTestQueue(home);
    await run(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("qmd flush sends SIGALRM to the supervisor named in lock/supervisor.pid", () =>
  withHome(async (home) => {
    // A stand-in supervisor: holds lock/sendmutex open and reports SIGALRM.
    const script = `${home}/fake_supervisor.ts`;
    Deno.writeTextFileSync(
      script,
      `const mutex = Deno.openSync(${
        JSON.stringify(`${home}/queue/lock/sendmutex`)
      }, { write: true });
Deno.addSignalListener("SIGALRM", () => { console.log("alarm"); mutex.close(); Deno.exit(0); });
console.log("ready");
setInterval(() => {}, 1000);
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", script],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    while (!output.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      output += value;
    }
    try {
      Deno.writeTextFileSync(`${home}/queue/lock/supervisor.pid`, `${child.pid}\n`);
      assertEquals(findSupervisor(home), { ok: true, pid: child.pid });
      assertEquals(await main(["--home", home]), 0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        output += value;
      }
      assertEquals(output, "ready\nalarm\n");
      assertEquals((await child.status).code, 0);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
    }
  }));

Deno.test("qmd flush exits 111 without a pid file, with a bad one, or a stale one", () =>
  withHome(async (home) => {
    const pidPath = `${home}/queue/lock/supervisor.pid`;
    const missing = findSupervisor(home);
    assert(!missing.ok);
    assertStringIncludes(missing.reason, `no ${pidPath}`);
    assertEquals(await main(["--home", home]), 111);

    Deno.writeTextFileSync(pidPath, "not a pid\n");
    const bad = findSupervisor(home);
    assert(!bad.ok);
    assertEquals(bad.reason, `${pidPath} does not hold a process id`);

    const dead = new Deno.Command("true").spawn();
    await dead.status;
    Deno.writeTextFileSync(pidPath, `${dead.pid}\n`);
    const stale = findSupervisor(home);
    assert(!stale.ok);
    assertStringIncludes(stale.reason, `stale ${pidPath}`);
    assertEquals(await main(["--home", home]), 111);

    // A live process that is not qmd on this queue (this test) is never signalled.
    Deno.writeTextFileSync(pidPath, `${Deno.pid}\n`);
    const other = findSupervisor(home);
    assert(!other.ok);
    assertStringIncludes(other.reason, "does not hold");
    assertEquals(await main(["--home", home]), 111);
  }));

Deno.test("qmd flush --help and bad flags", async () => {
  assertEquals(await main(["--help"]), 0);
  assertEquals(await main(["--bogus"]), 64);
});
