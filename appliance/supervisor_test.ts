import { assertEquals, assertMatch } from "../tests/assert.ts";
import type { OptionsFor } from "./ipc.ts";
import { type RoleSpec, Supervisor } from "./supervisor.ts";

/** Start options for a fixture that stands in for smtpd (it reads only its index). */
function fixtureOptions(index: number): OptionsFor<"smtpd"> {
  const unused = new SharedArrayBuffer(8);
  return {
    role: "smtpd",
    listen: [],
    index: index + 1,
    limits: unused,
    authFailures: unused,
    authCapabilities: unused,
  };
}

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
      options: fixtureOptions,
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

/** The reloading fixture answers with the errors in FIXTURE_ERRORS and fails its start with FIXTURE_FATAL. */
function reloadingRoles(count: number): RoleSpec[] {
  return [{
    name: "smtpd",
    module: new URL("../tests/fixtures/reloading_role.ts", import.meta.url),
    count,
    permissions: {
      read: false,
      write: false,
      net: false,
      env: false,
      run: false,
      ffi: false,
      sys: false,
    },
    options: fixtureOptions,
  }];
}

function supervisorWith(
  roles: RoleSpec[],
  lines: string[],
  env: Record<string, string> = {},
): Supervisor {
  return new Supervisor({
    home: "/nonexistent",
    smtp: [],
    smtpdWorkers: 1,
    logFormat: "text",
    graceSeconds: 5,
    env,
    writeLine: (line) => lines.push(line.replace(/^\d+\.\d+ /, "")),
    roles,
  });
}

Deno.test("supervisor: a role's fatal start error rejects start() once and is not logged as well", async () => {
  const lines: string[] = [];
  const supervisor = supervisorWith(reloadingRoles(2), lines, {
    FIXTURE_FATAL: "smtpd: /h/control/databytes line 1: expected a whole number",
  });
  let message = "";
  try {
    await supervisor.start();
  } catch (error) {
    message = (error as Error).message;
  } finally {
    supervisor.terminate();
  }
  assertEquals(message, "smtpd: /h/control/databytes line 1: expected a whole number");
  assertEquals(lines.filter((line) => line.includes("databytes")), []);
});

Deno.test("supervisor: SIGHUP logs each broken file once for all isolates, then one closing line", async () => {
  const lines: string[] = [];
  const broken = ["/h/control/databytes line 1: bad", "/h/control/maxrcpt line 1: bad"];
  const supervisor = supervisorWith(reloadingRoles(3), lines, {
    FIXTURE_ERRORS: JSON.stringify(broken),
  });
  await supervisor.start();
  try {
    supervisor.reload();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !lines.some((line) => line.includes("reloaded control"))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(lines, [
      "status: reloading control files",
      "alert: unable to reread controls: /h/control/databytes line 1: bad",
      "alert: unable to reread controls: /h/control/maxrcpt line 1: bad",
      "warning: reloaded control files except 2 broken; the roles that read a broken file keep their previous controls",
    ]);
  } finally {
    await supervisor.drain();
  }
  lines.length = 0;
  const clean = supervisorWith(reloadingRoles(2), lines);
  await clean.start();
  try {
    clean.reload();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !lines.includes("status: reloaded control files")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(lines, ["status: reloading control files", "status: reloaded control files"]);
  } finally {
    await clean.drain();
  }
});
