import { assertEquals } from "../../tests/assert.ts";
import { captureConsole } from "./test_io.ts";
import { parseCommand } from "./args.ts";

const SPEC = {
  name: "qmd thing",
  usage: "usage: qmd thing\n",
  options: {
    home: { type: "string" },
    json: { type: "boolean" },
    from: { type: "string", short: "f" },
  },
  positionals: false,
} as const;

Deno.test("parseCommand: a bad flag gets one line of our own, never the parser's text", async () => {
  const cases: [string[], string][] = [
    [["--quota"], "qmd thing: unknown option --quota (try --help)"],
    [["-x"], "qmd thing: unknown option -x (try --help)"],
    [["--home"], "qmd thing: --home needs a value (try --help)"],
    [["--home", "--json"], "qmd thing: --home needs a value (try --help)"],
    [["-f", "-x"], "qmd thing: -f needs a value (try --help)"],
    [["--json=yes"], "qmd thing: --json takes no value (try --help)"],
    [["extra"], 'qmd thing: unexpected argument "extra" (try --help)'],
    [["--home="], "qmd thing: --home needs a directory (try --help)"],
  ];
  for (const [args, line] of cases) {
    const run = await captureConsole(() => Promise.resolve(parseCommand(SPEC, args)));
    assertEquals(run.result, { ok: false, exitCode: 64 }, args.join(" "));
    assertEquals(run.err, [line], args.join(" "));
    assertEquals(run.out, []);
  }
  const good = parseCommand(SPEC, ["--home", "/h", "-f", "a@b", "--json"]);
  assertEquals(good.ok && { ...good.values }, { home: "/h", from: "a@b", json: true });
});
