import { assertEquals, assertThrows } from "../tests/assert.ts";
import { ControlError } from "./control.ts";
import { loadRblControls, parseRblsmtpdOptions } from "./rblsmtpd.ts";

const P = "control/rblsmtpd";

Deno.test("rblsmtpd: seed 000's run file options, quotes and grouped flags", () => {
  const options = parseRblsmtpdOptions(
    [
      "# as in seed 000's run file",
      "-C -t 10 \\",
      ' -r "cbl.abuseat.org:Sorry. You are listed in cbl.abuseat.org ..." \\',
      " -r 'sbl.spamhaus.org' -a White.Example.",
      "-bc -t5",
    ].join("\n"),
    P,
  );
  assertEquals(options, {
    sources: [
      {
        kind: "block",
        zone: "cbl.abuseat.org",
        text: "Sorry. You are listed in cbl.abuseat.org ...",
        source: P,
        line: 3,
      },
      { kind: "block", zone: "sbl.spamhaus.org", source: P, line: 4 },
      { kind: "anti", zone: "white.example", source: P, line: 4 },
    ],
    bounce: true,
    failClosed: true,
    timeoutSeconds: 5,
    blacklist: false,
  });
});

Deno.test("rblsmtpd: defaults are rblsmtpd's (-B -C -t 60); -e [ADDRESS]; a repeated question is dropped", () => {
  assertEquals(parseRblsmtpdOptions("-e -C -r bl.example", P).blacklistTo, undefined);
  const trap = parseRblsmtpdOptions("-Ce spamtrap@example.net -r bl.example", P);
  assertEquals([trap.blacklist, trap.blacklistTo, trap.sources.length], [
    true,
    "spamtrap@example.net",
    1,
  ]);
  const options = parseRblsmtpdOptions("-e -r bl.example -r bl.example -r bl.example:x", P);
  assertEquals(options.bounce, false);
  assertEquals(options.failClosed, false);
  assertEquals(options.timeoutSeconds, 60);
  assertEquals(options.blacklist, true);
  assertEquals(options.sources.map((s) => s.text), [undefined, "x"]);
});

Deno.test("rblsmtpd: broken options name the file and line", () => {
  const cases: [string, RegExp][] = [
    ["-r", /line 1: -r needs an argument/],
    ["\n-x", /line 2: unknown option -x/],
    ["-t ten", /-t needs whole seconds/],
    ["-r 'open", /unterminated ' quote/],
    ["bl.example", /expected an option/],
    ["-r bad..zone", /not a DNS zone/],
  ];
  for (const [text, message] of cases) {
    const error = assertThrows(() => parseRblsmtpdOptions(text, P), ControlError);
    assertEquals(message.test(error.message), true, error.message);
  }
});

Deno.test("rblsmtpd: each listener has its own file; none gives no DNSBL", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-rblsmtpd-" });
  try {
    Deno.mkdirSync(`${home}/control`);
    assertEquals(loadRblControls(home), {});
    Deno.writeTextFileSync(`${home}/control/rblsmtpd`, "-r bl.example\n");
    Deno.writeTextFileSync(`${home}/control/rblsmtpd.submission`, "-b -r sub.example\n");
    const controls = loadRblControls(home);
    assertEquals(controls.smtp?.sources[0].zone, "bl.example");
    assertEquals(controls.submission?.bounce, true);
    assertEquals(controls.smtps, undefined);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
