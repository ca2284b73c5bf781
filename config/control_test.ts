import { assertEquals, assertThrows } from "../tests/assert.ts";
import { ControlError, readControlLine, readControlList, readControlNumber } from "./control.ts";

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
