import { assertEquals, assertThrows } from "../tests/assert.ts";
import {
  ControlError,
  controlErrorMessages,
  ControlErrors,
  loadAllControls,
  orDefault,
  readControlLine,
  readControlList,
  readControlNumber,
} from "./control.ts";
import { loadSmtpdControls } from "./smtpd.ts";
import { readSendControls } from "./send.ts";

Deno.test("control files: first line, list, number and errors naming file and line", () => {
  const home = Deno.makeTempDirSync();
  Deno.mkdirSync(`${home}/control`);
  Deno.writeTextFileSync(`${home}/control/me`, "mx.example.net \t\nignored\n");
  Deno.writeTextFileSync(`${home}/control/locals`, "# comment\n\nexample.net\n  \nExample.ORG \n");
  Deno.writeTextFileSync(`${home}/control/databytes`, "10x\n");
  assertEquals(readControlLine(home, "me"), "mx.example.net");
  assertEquals(readControlLine(home, "absent"), undefined);
  assertEquals(readControlList(home, "locals")?.map((e) => [e.value, e.line]), [
    ["example.net", 3],
    ["Example.ORG", 5],
  ]);
  assertEquals(readControlNumber(home, "timeoutsmtpd", 1200), 1200);
  const error = assertThrows(() => readControlNumber(home, "databytes", 0), ControlError);
  assertEquals(
    error.message,
    `${home}/control/databytes line 1: expected a whole number, found "10x"`,
  );
  Deno.removeSync(home, { recursive: true });
});

Deno.test("loadAllControls: every broken file of a loader is named, not only the first; outside it the first throws", () => {
  const home = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${home}/control`);
    Deno.writeTextFileSync(`${home}/control/me`, "mx.example.net\n");
    Deno.writeTextFileSync(`${home}/control/databytes`, "10x\n");
    Deno.writeTextFileSync(`${home}/control/maxrcpt`, "many\n");
    Deno.mkdirSync(`${home}/control/smtpgreeting`);
    Deno.writeTextFileSync(`${home}/control/databytesmf`, "no colon\n");
    Deno.writeTextFileSync(`${home}/control/concurrencylocal`, "-1\n");
    assertThrows(() => loadSmtpdControls(home), ControlError);
    const error = assertThrows(
      () => loadAllControls(() => [loadSmtpdControls(home), readSendControls(home)]),
      ControlErrors,
    );
    assertEquals(error.errors.map((each) => each.message), [
      `${home}/control/smtpgreeting: is a directory, expected a file`,
      `${home}/control/databytes line 1: expected a whole number, found "10x"`,
      `${home}/control/databytesmf line 1: expected address:bytes, found "no colon"`,
      `${home}/control/maxrcpt line 1: expected a whole number, found "many"`,
      `${home}/control/concurrencylocal line 1: expected a non-negative whole number, found "-1"`,
    ]);
    assertEquals(controlErrorMessages(error).length, 5);
    for (const name of ["databytes", "maxrcpt", "databytesmf", "concurrencylocal"]) {
      Deno.removeSync(`${home}/control/${name}`);
    }
    Deno.removeSync(`${home}/control/smtpgreeting`);
    assertEquals(loadAllControls(() => loadSmtpdControls(home)).me, "mx.example.net");
    // A broken file with no default (orDefault not used) still ends the loader, and is named.
    assertEquals(
      controlErrorMessages(assertThrows(() =>
        loadAllControls(() => {
          throw new ControlError(`${home}/control/x`, 2, "bad");
        }), ControlErrors)),
      [`${home}/control/x line 2: bad`],
    );
    assertEquals(orDefault(() => 5, 0), 5);
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});
