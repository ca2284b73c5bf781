import { assertEquals, assertStringIncludes } from "../tests/assert.ts";
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
    let error: unknown;
    try {
      loadAllControls(() => loadTraceControls(home));
    } catch (thrown) {
      error = thrown;
    }
    assertEquals(error instanceof ControlErrors, true);
    assertStringIncludes(String((error as Error).message), "control/tracedays");
  }, "qmd-trace-controls-");
});
