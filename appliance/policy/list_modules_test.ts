import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { ControlError } from "../../config/control.ts";
import type { BmListControls } from "../../config/filter_lists.ts";
import type { ListCheckSettings } from "../filters/list_check.ts";
import { activeChecks, FILTER_MODULES, loadFilterControls } from "./filter_modules.ts";
import {
  BADHELO_MODULE,
  BADMAILFROM_MODULE,
  BADRCPTTO_MODULE,
  BADRMHOST_MODULE,
  DATECHECKS_MODULE,
  loadListControls,
  REQBRACKETS_MODULE,
  WHOLE_MESSAGE_MODULE,
} from "./list_modules.ts";

function controls(files: Record<string, string[]>): BmListControls {
  const lists: BmListControls["lists"] = {};
  for (const [name, values] of Object.entries(files)) {
    lists[name] = {
      source: `control/${name}`,
      lines: values.map((value, i) => ({ value, line: i + 1 })),
    };
  }
  return { home: "/q", lists, log: false };
}

function client(env: Record<string, string> = {}) {
  return { env, remoteIp: "192.0.2.1", listener: "smtp" };
}

function sources(settings: unknown): string[] | undefined {
  return (settings as ListCheckSettings | undefined)?.lists.map(
    ({ list, scope }) => `${list.source} ${scope}`,
  );
}

const ALL_MAILFROM = controls({
  badmailfrom: ["@a.example"],
  badmailfromext: ["@b.example"],
  badmailfromint: ["@c.example"],
  "badmailfrom-strict": ["!@"],
});

Deno.test("badmailfrom module: the three files with their scopes; absent files left out", () => {
  assertEquals(sources(BADMAILFROM_MODULE.settings(ALL_MAILFROM, client())), [
    "control/badmailfrom ext",
    "control/badmailfromext ext",
    "control/badmailfromint int",
  ]);
  assertEquals(BADMAILFROM_MODULE.settings(controls({}), client()), undefined);
  assertEquals(BADMAILFROM_MODULE.settings(controls({ badmailfrom: [] }), client()), undefined);
});

Deno.test("badmailfrom module: NO_BADMAILFROM, NOBADMAILFROMEXT/INT switch files off, even empty", () => {
  assertEquals(sources(BADMAILFROM_MODULE.settings(ALL_MAILFROM, client({ NO_BADMAILFROM: "" }))), [
    "control/badmailfromext ext",
    "control/badmailfromint int",
  ]);
  assertEquals(
    sources(
      BADMAILFROM_MODULE.settings(
        ALL_MAILFROM,
        client({ NOBADMAILFROMEXT: "1", NOBADMAILFROMINT: "" }),
      ),
    ),
    ["control/badmailfrom ext"],
  );
  assertEquals(
    BADMAILFROM_MODULE.settings(
      ALL_MAILFROM,
      client({ NO_BADMAILFROM: "", NOBADMAILFROMEXT: "", NOBADMAILFROMINT: "" }),
    ),
    undefined,
  );
});

Deno.test("badmailfrom module: BADMAILFROM names another file; one not read counts as empty", () => {
  assertEquals(
    sources(
      BADMAILFROM_MODULE.settings(
        ALL_MAILFROM,
        client({
          BADMAILFROM: "control/badmailfrom-strict",
          NOBADMAILFROMEXT: "",
          NOBADMAILFROMINT: "",
        }),
      ),
    ),
    ["control/badmailfrom-strict ext"],
  );
  assertEquals(
    BADMAILFROM_MODULE.settings(
      ALL_MAILFROM,
      client({ BADMAILFROM: "control/missing", NOBADMAILFROMEXT: "", NOBADMAILFROMINT: "" }),
    ),
    undefined,
  );
});

Deno.test("badhelo module: seed 000's NO_BADHELO and seed 002's NOBADHELO both switch badhelo off", () => {
  const lists = controls({ badhelo: ["!\\."], badheloext: ["x"], badheloint: ["y"] });
  assertEquals(sources(BADHELO_MODULE.settings(lists, client())), [
    "control/badhelo all",
    "control/badheloext ext",
    "control/badheloint int",
  ]);
  for (const off of ["NO_BADHELO", "NOBADHELO"]) {
    assertEquals(sources(BADHELO_MODULE.settings(lists, client({ [off]: "" }))), [
      "control/badheloext ext",
      "control/badheloint int",
    ]);
  }
});

Deno.test("badrmhost and badrcptto modules: their scopes and switches", () => {
  const lists = controls({
    badrmhostext: ["x"],
    badrmhostint: ["y"],
    badrcptto: ["z@example.net"],
  });
  assertEquals(sources(BADRMHOST_MODULE.settings(lists, client({ NOBADRMHOSTINT: "" }))), [
    "control/badrmhostext ext",
  ]);
  assertEquals(sources(BADRCPTTO_MODULE.settings(lists, client())), ["control/badrcptto ext"]);
  assertEquals(BADRCPTTO_MODULE.settings(lists, client({ NOBADRCPTTO: "" })), undefined);
});

Deno.test("reqbrackets, datechecks and whole-message modules: on, off, switches", () => {
  assertEquals(REQBRACKETS_MODULE.settings(true, client()), { source: "control/reqbrackets" });
  assertEquals(REQBRACKETS_MODULE.settings(false, client()), undefined);
  assertEquals(DATECHECKS_MODULE.settings({ checks: [], log: false }, client()), undefined);
  assertEquals(
    DATECHECKS_MODULE.settings(
      { checks: [{ prefix: "n-", days: 1, line: 1 }], log: true },
      client(),
    ),
    { source: "control/datechecks", checks: [{ prefix: "n-", days: 1, line: 1 }], log: true },
  );
  assertEquals(WHOLE_MESSAGE_MODULE.settings(null, client()), {
    spamSeen: true,
    relaySeen: false,
    denyAll: false,
  });
  assertEquals(WHOLE_MESSAGE_MODULE.settings(null, client({ BADRCPTHOSTSEEN: "" })), {
    spamSeen: true,
    relaySeen: true,
    denyAll: false,
  });
  assertEquals(
    WHOLE_MESSAGE_MODULE.settings(null, client({ NOBADRCPTSEEN: "", QMAILRRTDENYALL: "" })),
    { spamSeen: false, relaySeen: false, denyAll: true },
  );
  assertEquals(WHOLE_MESSAGE_MODULE.settings(null, client({ NOBADRCPTSEEN: "" })), undefined);
});

Deno.test("loadListControls: a bad regular expression is a ControlError naming file and line", () => {
  const home = Deno.makeTempDirSync({ prefix: "qmd-list-modules-" });
  Deno.mkdirSync(`${home}/control`);
  Deno.writeTextFileSync(`${home}/control/badmailto`, "# ok\n@.*@\n(unclosed\n");
  const error = assertThrows(() => loadListControls(home), ControlError);
  assert(
    error.message.startsWith(`${home}/control/badmailto line 3: bad regular expression`),
    error.message,
  );
});

Deno.test("the table: the list checks load from a home and run in chain order", () => {
  const home = Deno.makeTempDirSync({ prefix: "qmd-list-modules-" });
  Deno.mkdirSync(`${home}/control`);
  Deno.writeTextFileSync(`${home}/control/badmailfrom`, "@spam.example\n");
  Deno.writeTextFileSync(`${home}/control/goodmailfrom`, "root@host.local\n");
  const loaded = loadFilterControls(home);
  const names = activeChecks(loaded, client()).map(({ check }) => check.name);
  for (const name of ["reqbrackets", "goodmailfrom", "badmailfrom", "wholemessage"]) {
    assert(names.includes(name), `${name} in ${names}`);
  }
  assert(names.indexOf("goodmailfrom") < names.indexOf("badmailfrom"));
  assert(!names.includes("badhelo") && !names.includes("datechecks"));
  assertEquals(loaded.length, FILTER_MODULES.length);
  // Plain data: what crosses postMessage comes back the same.
  assertEquals(structuredClone(loaded), loaded);
});

Deno.test("loadListControls: a file found by its name only with a bad line is left out", () => {
  const home = Deno.makeTempDirSync({ prefix: "qmd-list-modules-" });
  Deno.mkdirSync(`${home}/control`);
  Deno.writeTextFileSync(`${home}/control/badhelo~`, "(unclosed\n");
  Deno.writeTextFileSync(`${home}/control/badhelo-strict`, "!\\.\n");
  const controls = loadListControls(home);
  assertEquals(Object.keys(controls.lists), ["badhelo-strict"]);
  // Named in tcp.smtp, the same file stops the reload.
  Deno.writeTextFileSync(`${home}/tcp.smtp`, ':allow,BADHELO="control/badhelo~"\n');
  const error = assertThrows(() => loadListControls(home), ControlError);
  assert(error.message.startsWith(`${home}/control/badhelo~ line 1:`), error.message);
});
