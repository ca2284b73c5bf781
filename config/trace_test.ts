import { assertEquals, assertStringIncludes, assertThrows } from "../tests/assert.ts";
import { withControlFiles } from "./test_home.ts";
import { loadTraceControls } from "./trace.ts";
import { ControlErrors, loadAllControls } from "./control.ts";

Deno.test("trace controls: 14 days and 256 MiB by default; tracedays 0 records nothing; a bad number is named", async () => {
  await withControlFiles({}, (home) => {
    assertEquals(loadTraceControls(home), { keepDays: 14, maxBytes: 268435456 });
    Deno.writeTextFileSync(`${home}/control/tracedays`, "0\n");
    Deno.writeTextFileSync(`${home}/control/tracemaxbytes`, "1048576\n");
    assertEquals(loadTraceControls(home), { keepDays: 0, maxBytes: 1048576 });
    Deno.writeTextFileSync(`${home}/control/tracedays`, "two weeks\n");
    const error = assertThrows(() => loadAllControls(() => loadTraceControls(home)), ControlErrors);
    assertStringIncludes(error.message, "control/tracedays");
  }, "qmd-trace-controls-");
});
