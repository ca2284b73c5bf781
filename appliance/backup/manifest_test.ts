import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { BackupRefusal, isSafeRelativePath, makeManifest, parseManifest } from "./manifest.ts";

Deno.test("parseManifest: a path that could leave the home is refused, naming the entry", () => {
  for (const path of ["../etc/passwd", "/etc/passwd", "control/../../x", "a//b", "."]) {
    assertEquals(isSafeRelativePath(path), false, path);
    const manifest = makeManifest({
      created: "2026-01-01T00:00:00.000Z",
      home: "/h",
      queue: false,
      maildirs: false,
      entries: [{ path: "control", kind: "directory", mode: 0o755 }, {
        path,
        kind: "file",
        mode: 0o644,
        bytes: 0,
        sha256: "",
      }],
    });
    const error = assertThrows(() => parseManifest(JSON.stringify(manifest), "M"), BackupRefusal);
    assertStringIncludes(error.message, "M: entry 2 has an unsafe path");
  }
  assertEquals(isSafeRelativePath("mail/example.com/.qmail-sales"), true);
});

Deno.test("parseManifest: not JSON, another format, a later version", () => {
  const cases: [string, string][] = [
    ["{", "M is not JSON"],
    ['{"format":"other"}', "not a qmd backup manifest"],
    ['{"format":"qmd-backup","version":2,"entries":[]}', "has version 2"],
  ];
  for (const [text, message] of cases) {
    assertStringIncludes(
      assertThrows(() => parseManifest(text, "M"), BackupRefusal).message,
      message,
    );
  }
});
