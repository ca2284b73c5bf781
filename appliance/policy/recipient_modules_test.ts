import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { buildCdb } from "../../config/cdb.ts";
import { ControlError } from "../../config/control.ts";
import {
  GREYLIST_MODULE,
  RCPTCHECK_MODULE,
  REALRCPTTO_MODULE,
  RECIPIENTS_MODULE,
} from "./recipient_modules.ts";
import type { FilterClient } from "./filter_modules.ts";

async function home(controls: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-rcpt-" });
  Deno.mkdirSync(`${dir}/control`);
  Deno.mkdirSync(`${dir}/users`);
  Deno.writeTextFileSync(`${dir}/control/me`, "mx.example.test\n");
  for (const [name, value] of Object.entries(controls)) {
    Deno.writeTextFileSync(`${dir}/control/${name}`, value);
  }
  return dir;
}

const client = (env: Record<string, string> = {}): FilterClient => ({
  env,
  remoteIp: "192.0.2.1",
  listener: "smtp",
});

const cdb = (keys: string[]) =>
  buildCdb(keys.map((key) => ({ key: new TextEncoder().encode(key), data: new Uint8Array() })));

Deno.test("recipient modules: realrcptto is on by default, off by control file or NOREALRCPTTO", async () => {
  const on = REALRCPTTO_MODULE.load(await home({}));
  assertEquals(REALRCPTTO_MODULE.settings(on, client()) !== undefined, true);
  assertEquals(REALRCPTTO_MODULE.settings(on, client({ NOREALRCPTTO: "" })), undefined);
  const off = REALRCPTTO_MODULE.load(await home({ realrcptto: "0\n" }));
  assertEquals(REALRCPTTO_MODULE.settings(off, client()), undefined);
});

Deno.test("recipient modules: recipientchk's mode from RECIPIENTCHK, the file, or the cdb list", async () => {
  const dir = await home({
    recipients: "# ours\nusers/recipients.cdb\n",
    recipientchkdelay: "2\n",
  });
  Deno.writeFileSync(`${dir}/users/recipients.cdb`, cdb([":joe@example.test"]));
  const controls = RECIPIENTS_MODULE.load(dir) as { tables: { keys: Set<string>; line: number }[] };
  assertEquals([...controls.tables[0].keys], [":joe@example.test"]);
  assertEquals(controls.tables[0].line, 2);
  const implied = RECIPIENTS_MODULE.settings(controls, client()) as Record<string, unknown>;
  assertEquals([implied.mode, implied.delaySeconds, implied.source], [2, 2, "control/recipients"]);
  const fromEnv = RECIPIENTS_MODULE.settings(
    controls,
    client({ RECIPIENTCHK: "1", RECIPIENTCHKDELAY: "7" }),
  ) as Record<string, unknown>;
  assertEquals([fromEnv.mode, fromEnv.delaySeconds, fromEnv.source], [1, 7, "RECIPIENTCHK"]);
  assertEquals(RECIPIENTS_MODULE.settings(controls, client({ RECIPIENTCHK: "0" })), undefined);
  // No cdb listed: mode 2 would refuse everyone, so it is off.
  const none = RECIPIENTS_MODULE.load(await home({ recipientchk: "2\n" }));
  assertEquals(RECIPIENTS_MODULE.settings(none, client()), undefined);
});

Deno.test("recipient modules: a missing or broken cdb names control/recipients and its line", async () => {
  const dir = await home({ recipients: "users/recipients.cdb\nusers/other.cdb\n" });
  Deno.writeFileSync(`${dir}/users/recipients.cdb`, cdb([":a@b.test"]));
  const missing = assertThrows(() => RECIPIENTS_MODULE.load(dir), ControlError);
  assertEquals(missing.message.startsWith(`${dir}/control/recipients line 2: cannot read`), true);
  Deno.writeTextFileSync(`${dir}/users/other.cdb`, "not a cdb");
  const broken = assertThrows(() => RECIPIENTS_MODULE.load(dir), ControlError);
  assertEquals(broken.message.includes("line 2:"), true);
  const bad = await home({ recipientchk: "yes\n" });
  const word = assertThrows(() => RECIPIENTS_MODULE.load(bad), ControlError);
  assertEquals(word.message.includes("recipientchk line 1"), true);
});

Deno.test("recipient modules: RCPTCHECK overrides control/rcptcheck, empty turns it off", async () => {
  const controls = RCPTCHECK_MODULE.load(await home({ rcptcheck: "/bin/check\n" }));
  assertEquals(RCPTCHECK_MODULE.settings(controls, client()), {
    program: "/bin/check",
    source: "control/rcptcheck",
    timeoutSeconds: 60,
  });
  assertEquals(
    (RCPTCHECK_MODULE.settings(controls, client({ RCPTCHECK: "/other" })) as { program: string })
      .program,
    "/other",
  );
  assertEquals(RCPTCHECK_MODULE.settings(controls, client({ RCPTCHECK: "" })), undefined);
  const none = RCPTCHECK_MODULE.load(await home({}));
  assertEquals(RCPTCHECK_MODULE.settings(none, client()), undefined);
});

Deno.test("recipient modules: greylisting is off by default; on, NOGREYLIST skips a client", async () => {
  const off = GREYLIST_MODULE.load(await home({}));
  assertEquals(GREYLIST_MODULE.settings(off, client()), undefined);
  const on = GREYLIST_MODULE.load(await home({ greylist: "1\n", greylistdelay: "60\n" }));
  assertEquals(GREYLIST_MODULE.settings(on, client()), {
    delaySeconds: 60,
    lifetimeSeconds: 3_110_400,
  });
  assertEquals(GREYLIST_MODULE.settings(on, client({ NOGREYLIST: "" })), undefined);
});
