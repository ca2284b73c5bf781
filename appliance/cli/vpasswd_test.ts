import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { ControlError } from "../../config/control.ts";
import { buildCdb } from "../../config/cdb.ts";
import { parseVpasswd, parseVpasswdCdb, parseVpopmailQuota, readVpasswd } from "./vpasswd.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("vpasswd: vcdb.c's line, with the clear password after the seventh colon", () => {
  const entries = parseVpasswd(
    "# a comment\nann:$1$ab$hash:1:0:Ann Example:/v/d/ann:10000000S,100C:pa:ss\n" +
      "bob:$6$cd$hash:1:0:Bob:/v/d/bob:NOQUOTA:\n\ncarol:xyzDEShash:1:0:Carol:/v/d/carol\n",
    "vpasswd",
  );
  assertEquals(entries, [
    {
      user: "ann",
      hash: "$1$ab$hash",
      gecos: "Ann Example",
      dir: "/v/d/ann",
      quota: { bytes: 10000000, messages: 100 },
      clear: "pa:ss",
    },
    {
      user: "bob",
      hash: "$6$cd$hash",
      gecos: "Bob",
      dir: "/v/d/bob",
      quota: { bytes: 0, messages: 0 },
      clear: "",
    },
    {
      user: "carol",
      hash: "xyzDEShash",
      gecos: "Carol",
      dir: "/v/d/carol",
      quota: { bytes: 0, messages: 0 },
      clear: "",
    },
  ]);
});

Deno.test("vpasswd: quota forms: NOQUOTA, empty, bare bytes, Maildir++", () => {
  assertEquals(parseVpopmailQuota("NOQUOTA"), { bytes: 0, messages: 0 });
  assertEquals(parseVpopmailQuota(""), { bytes: 0, messages: 0 });
  assertEquals(parseVpopmailQuota("5000000"), { bytes: 5000000, messages: 0 });
  assertEquals(parseVpopmailQuota("52428800S"), { bytes: 52428800, messages: 0 });
  assertEquals(parseVpopmailQuota("1000C"), { bytes: 0, messages: 1000 });
});

Deno.test("vpasswd: a broken line is named with its file and line", () => {
  assertStringIncludes(
    assertThrows(
      () => parseVpasswd("ann:x:1:0:A:/d/ann:NOQUOTA:\nbob:x:1\n", "/v/vpasswd"),
      ControlError,
    ).message,
    "/v/vpasswd line 2: expected name:passwd:uid:gid:gecos:dir",
  );
  assertStringIncludes(
    assertThrows(() => parseVpasswd("ann:x:1:0:A:relative:NOQUOTA:\n", "/v/vpasswd"), ControlError)
      .message,
    "/v/vpasswd line 1: mailbox ann's directory is not an absolute path",
  );
  assertStringIncludes(
    assertThrows(() => parseVpasswdCdb(encode("short"), "/v/vpasswd.cdb"), ControlError).message,
    "/v/vpasswd.cdb:",
  );
});

Deno.test("vpasswd: the cdb (key the name, data the rest) is read when vpasswd is missing", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assertEquals(readVpasswd(dir), undefined);
    Deno.writeFileSync(
      `${dir}/vpasswd.cdb`,
      buildCdb([{ key: encode("dan"), data: encode("$1$x$y:1:0:Dan:/d/dan:2000S:") }]),
    );
    const fromCdb = readVpasswd(dir);
    assertEquals(fromCdb?.source, "vpasswd.cdb");
    assertEquals(fromCdb?.entries.map((e) => [e.user, e.dir, e.quota.bytes]), [
      ["dan", "/d/dan", 2000],
    ]);
    Deno.writeTextFileSync(`${dir}/vpasswd`, "eve:h:1:0:Eve:/d/eve:NOQUOTA:pw\n");
    assertEquals(readVpasswd(dir)?.entries.map((e) => e.user), ["eve"]);
    Deno.removeSync(`${dir}/vpasswd`);
    Deno.writeFileSync(
      `${dir}/vpasswd.cdb`,
      buildCdb([{ key: encode("fay"), data: encode("h:1:0") }]),
    );
    assertStringIncludes(
      assertThrows(() => readVpasswd(dir), ControlError).message,
      `${dir}/vpasswd.cdb: record 1: expected`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
