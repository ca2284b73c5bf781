import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { runQmd } from "../../tests/harness.ts";
import { compileTcpRules, parseTcpRules, tcpRulesFromCdb } from "../../config/tcprules.ts";
import { compileRules, main } from "./tcprules.ts";

const FIXTURES = new URL("../../tests/fixtures/tcprules/", import.meta.url).pathname;

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

async function capture(fn: () => Promise<number>): Promise<{ code: number; errors: string[] }> {
  const errors: string[] = [];
  const { error } = console;
  console.error = (...parts: unknown[]) => errors.push(parts.join(" "));
  try {
    return { code: await fn(), errors };
  } finally {
    console.error = error;
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("compileRules: writes the cdb tcprules would, via the temporary file", async () => {
  await withDir(async (dir) => {
    const text = await Deno.readFile(`${FIXTURES}tcp.smtp`);
    const { code, errors } = await capture(() =>
      compileRules(`${dir}/tcp.smtp.cdb`, `${dir}/tcp.smtp.tmp`, streamOf(text))
    );
    assertEquals([code, errors], [0, []]);
    assertEquals(
      await Deno.readFile(`${dir}/tcp.smtp.cdb`),
      await Deno.readFile(`${FIXTURES}tcp.smtp.cdb`),
    );
    assertEquals([...Deno.readDirSync(dir)].map((entry) => entry.name), ["tcp.smtp.cdb"]);
    assertEquals((await Deno.stat(`${dir}/tcp.smtp.cdb`)).mode! & 0o777, 0o644 & ~umask());
  });
});

function umask(): number {
  const mask = Deno.umask();
  Deno.umask(mask);
  return mask;
}

Deno.test("compileRules: a bad line exits 100 naming the line and leaves the cdb alone", async () => {
  await withDir(async (dir) => {
    const cdb = `${dir}/rules.cdb`;
    const good = new TextEncoder().encode('127.:allow,RELAYCLIENT=""\n');
    assertEquals(
      (await capture(() => compileRules(cdb, `${dir}/rules.tmp`, streamOf(good)))).code,
      0,
    );
    const before = await Deno.readFile(cdb);
    const bad = new TextEncoder().encode('# ok\n127.:allow\n10.:alow,X=""  \n');
    const { code, errors } = await capture(() =>
      compileRules(cdb, `${dir}/rules.tmp`, streamOf(bad))
    );
    assertEquals(code, 100);
    assertEquals(errors, [
      'tcprules: fatal: unable to parse this line (stdin line 3: expected allow or deny after the first colon): 10.:alow,X=""',
    ]);
    assertEquals(await Deno.readFile(cdb), before);
    assertEquals([...Deno.readDirSync(dir)].map((entry) => entry.name), ["rules.cdb"]);
  });
});

Deno.test("compileRules: I/O trouble exits 111", async () => {
  await withDir(async (dir) => {
    const rules = new TextEncoder().encode(":allow\n");
    const missing = await capture(() =>
      compileRules(`${dir}/rules.cdb`, `${dir}/no/such/rules.tmp`, streamOf(rules))
    );
    assertEquals(missing.code, 111);
    assertMatch(missing.errors[0], /^tcprules: fatal: unable to create .*rules\.tmp: /);
    // The rename fails when rules.cdb is a non-empty directory.
    await Deno.mkdir(`${dir}/rules.cdb/x`, { recursive: true });
    const rename = await capture(() =>
      compileRules(`${dir}/rules.cdb`, `${dir}/rules.tmp`, streamOf(rules))
    );
    assertEquals(rename.code, 111);
    assertMatch(
      rename.errors[0],
      /^tcprules: fatal: unable to move .*rules\.tmp to .*rules\.cdb: /,
    );
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("input went away"));
      },
    });
    const read = await capture(() => compileRules(`${dir}/r.cdb`, `${dir}/r.tmp`, broken));
    assertEquals(read, {
      code: 111,
      errors: ["tcprules: fatal: unable to read input: input went away"],
    });
  });
});

Deno.test("main: usage errors exit 100 like tcprules; a bad flag 64", async () => {
  const missing = await capture(() => main(["only-one.cdb"]));
  assertEquals(missing, { code: 100, errors: ["tcprules: usage: tcprules rules.cdb rules.tmp"] });
  assertEquals((await capture(() => main(["--print"]))).code, 100);
  assertEquals((await capture(() => main(["--bogus"]))).code, 64);
});

Deno.test("qmd tcprules: compile, print, recompile through main.ts", async () => {
  await withDir(async (dir) => {
    const text = await Deno.readFile(`${FIXTURES}tcp.smtp`);
    const compiled = await runQmd(["tcprules", `${dir}/a.cdb`, `${dir}/a.tmp`], { stdin: text });
    assertEquals([compiled.code, compiled.stdout, compiled.stderr], [0, "", ""]);
    const fixture = await Deno.readFile(`${FIXTURES}tcp.smtp.cdb`);
    assertEquals(await Deno.readFile(`${dir}/a.cdb`), fixture);

    const printed = await runQmd(["tcprules", "--print", `${dir}/a.cdb`]);
    assertEquals([printed.code, printed.stderr], [0, ""]);
    assertStringIncludes(printed.stdout, '9.9.9.9:deny,RBLSMTPD="-go away"\n');
    assertStringIncludes(printed.stdout, '8.8.8.8:allow,GREETING="héllo wörld"\n');
    const again = await runQmd(["tcprules", `${dir}/b.cdb`, `${dir}/b.tmp`], {
      stdin: printed.stdout,
    });
    assertEquals(again.code, 0);
    assertEquals(await Deno.readFile(`${dir}/b.cdb`), fixture);
    // And the printed text answers as the original text does.
    const table = tcpRulesFromCdb(compileTcpRules(parseTcpRules(printed.stdout, "printed")));
    assertEquals(table.lookup({ ip: "127.0.0.1" })?.env.RELAYCLIENT, "");
  });
});

Deno.test("qmd tcprules: errors from main.ts, and argv[0] tcprules", async () => {
  await withDir(async (dir) => {
    const bad = await runQmd(["tcprules", `${dir}/a.cdb`, `${dir}/a.tmp`], {
      stdin: "127.:allow\n127.0.0.1:allow,RELAYCLIENT\n",
    });
    assertEquals(bad.code, 100);
    assertStringIncludes(bad.stderr, "stdin line 2");
    assert(bad.stderr.trimEnd().endsWith(": 127.0.0.1:allow,RELAYCLIENT"), bad.stderr);
    assertEquals([...Deno.readDirSync(dir)], []);

    const notCdb = `${dir}/not.cdb`;
    await Deno.writeTextFile(notCdb, "short");
    const print = await runQmd(["tcprules", "--print", notCdb]);
    assertEquals(print.code, 111);
    assertStringIncludes(print.stderr, "is not a cdb file");
    assertEquals((await runQmd(["tcprules", "--print", `${dir}/none.cdb`])).code, 111);

    const asTcprules = await runQmd([`${dir}/c.cdb`, `${dir}/c.tmp`], {
      stdin: ":deny\n",
      env: { QMD_ARGV0: "/usr/local/bin/tcprules" },
    });
    assertEquals(asTcprules.code, 0);
    assertEquals(tcpRulesFromCdb(await Deno.readFile(`${dir}/c.cdb`)).lookup({ ip: "1.1.1.1" }), {
      deny: true,
      env: {},
      key: "",
    });
  });
});
