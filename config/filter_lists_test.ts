import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { ControlError } from "./control.ts";
import {
  controlFileName,
  loadBmListControls,
  loadDatechecksControls,
  loadReqBrackets,
  parseDatechecks,
} from "./filter_lists.ts";

function home(files: Record<string, string>): string {
  const dir = Deno.makeTempDirSync({ prefix: "qmd-filter-lists-" });
  Deno.mkdirSync(`${dir}/control/log`, { recursive: true });
  for (const [name, text] of Object.entries(files)) Deno.writeTextFileSync(`${dir}/${name}`, text);
  return dir;
}

Deno.test("loadBmListControls: every list file that exists, lines numbered, comments skipped", () => {
  const dir = home({
    "control/badmailfrom": "# senders\n@spam.example\n\n.*bulk.*\n",
    "control/badheloint": "!\\.\n",
  });
  const controls = loadBmListControls(dir);
  assertEquals(Object.keys(controls.lists).sort(), ["badheloint", "badmailfrom"]);
  assertEquals(controls.lists.badmailfrom, {
    source: "control/badmailfrom",
    lines: [{ value: "@spam.example", line: 2 }, { value: ".*bulk.*", line: 4 }],
  });
  assertEquals(controls.log, false);
  assertEquals(controls.home, dir);
});

Deno.test("loadBmListControls: files named in tcp.smtp are read too", () => {
  const dir = home({
    "control/badmailfrom": "@spam.example\n",
    "control/badmailfrom-strict": "!@\n",
    "control/goodmailfrom.partners": "@partner.example\n",
    "tcp.smtp": '192.0.2.:allow,BADMAILFROM="control/badmailfrom-strict"\n' +
      `198.51.100.:allow,GOODMAILFROM="DIR/control/goodmailfrom.partners"\n`,
    "control/log/bmchecks": "1\n",
  });
  Deno.writeTextFileSync(
    `${dir}/tcp.smtp`,
    Deno.readTextFileSync(`${dir}/tcp.smtp`).replace("DIR", dir),
  );
  const controls = loadBmListControls(dir);
  assertEquals(controls.lists["badmailfrom-strict"].lines, [{ value: "!@", line: 1 }]);
  assertEquals(controls.lists["goodmailfrom.partners"].source, "control/goodmailfrom.partners");
  assertEquals(controls.log, true);
});

Deno.test("loadBmListControls: a file named outside control/ is an error naming tcp.smtp", () => {
  const dir = home({ "tcp.smtp": ':allow,BADHELO="/etc/passwd"\n' });
  const error = assertThrows(() => loadBmListControls(dir), ControlError);
  assert(error.message.includes("tcp.smtp"), error.message);
  assert(error.message.includes("/etc/passwd"), error.message);
});

Deno.test("controlFileName: relative to the home, inside control/ only", () => {
  assertEquals(controlFileName("/q", "control/badhelo2"), "badhelo2");
  assertEquals(controlFileName("/q", "./control/badhelo2"), "badhelo2");
  assertEquals(controlFileName("/q", "/q/control/lists/badhelo"), "lists/badhelo");
  assertEquals(controlFileName("/q", "/q/control/../users/assign"), undefined);
  assertEquals(controlFileName("/q", "badhelo2"), undefined);
  assertEquals(controlFileName("/q", "/etc/badhelo"), undefined);
  assertEquals(controlFileName("/q", "control/"), undefined);
});

Deno.test("datechecks: prefix:days lines; a bad line names file and line", () => {
  assertEquals(
    parseDatechecks("f", [{ value: "qmail-list-:7", line: 1 }, { value: "a:b:30", line: 3 }]),
    [{ prefix: "qmail-list-", days: 7, line: 1 }, { prefix: "a:b", days: 30, line: 3 }],
  );
  const error = assertThrows(
    () => parseDatechecks("/q/control/datechecks", [{ value: "news-", line: 4 }]),
    ControlError,
  );
  assertEquals(error.message, '/q/control/datechecks line 4: expected prefix:days, found "news-"');
  assertThrows(() => parseDatechecks("f", [{ value: ":7", line: 1 }]), ControlError);
  assertThrows(() => parseDatechecks("f", [{ value: "x:-1", line: 1 }]), ControlError);
  const dir = home({ "control/datechecks": "# lists\nnews-:3\n", "control/log/datechecks": "1" });
  assertEquals(loadDatechecksControls(dir), {
    checks: [{ prefix: "news-", days: 3, line: 2 }],
    log: true,
  });
  assertEquals(loadDatechecksControls(home({})), { checks: [], log: false });
});

Deno.test("reqbrackets: on by default (seed 000 md20); 0 or empty turns it off", () => {
  assertEquals(loadReqBrackets(home({})), true);
  assertEquals(loadReqBrackets(home({ "control/reqbrackets": "1\n" })), true);
  assertEquals(loadReqBrackets(home({ "control/reqbrackets": "0\n" })), false);
  assertEquals(loadReqBrackets(home({ "control/reqbrackets": "\n" })), false);
});

Deno.test("loadBmListControls: other files named like a list are read too, marked as found by name", () => {
  const dir = home({
    "control/badmailto-strict": "@.*@\n",
    "control/badhelo~": "(broken\n",
    "control/rcpthosts": "example.net\n",
  });
  const controls = loadBmListControls(dir);
  assertEquals(Object.keys(controls.lists).sort(), ["badhelo~", "badmailto-strict"]);
  assertEquals(controls.lists["badmailto-strict"].scanned, true);
});
