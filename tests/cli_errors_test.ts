/**
 * Every command, run as a new operator would run it wrong: a missing home, a
 * directory that is not a qmd home, bad flags and values, unknown
 * subcommands and program names. Each must answer with one line naming the
 * problem and a non-zero exit, never a stack trace or the flag parser's text.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { makeTempHome, runQmd } from "./harness.ts";
import { captureConsole } from "../appliance/cli/test_io.ts";
import { runCli } from "../main.ts";

/** Runs a command in this process; stdin is never read by these failing runs. */
async function run(args: string[]) {
  const { result, out, err } = await captureConsole(() => runCli(args, "qmd"));
  return { code: result, out, err };
}

function assertOneLine(
  result: { code: number; err: string[] },
  includes: string,
  label: string,
): void {
  assert(result.code !== 0, `${label}: exit ${result.code}`);
  assertEquals(result.err.length, 1, `${label}: ${JSON.stringify(result.err)}`);
  assertStringIncludes(result.err[0], includes, label);
  assert(!result.err[0].includes("\n"), `${label}: one line`);
  assert(!/\bat \S+:\d+:\d+/.test(result.err[0]), `${label}: no stack trace`);
}

Deno.test("cli: a missing home is named in one line by every command that needs one", async () => {
  const missing = `${await makeTempHome()}/nowhere`;
  const commands = [
    ["user", "list"],
    ["user", "list", "--json"],
    ["user", "del", "a@example.test"],
    ["domain", "list"],
    ["domain", "list", "--json"],
    ["domain", "add", "example.test"],
    ["domain", "del", "example.test"],
    ["user", "quota", "a@example.test", "1M"],
    ["user", "rename", "a@example.test", "b@example.test"],
    ["alias", "list"],
    ["alias", "add", "a@example.test", "b@example.org"],
    ["alias", "del", "a@example.test"],
    ["backup", "/tmp/qmd-backup-never-written"],
    ["showctl"],
    ["newu"],
    ["qread"],
    ["qstat"],
    ["flush"],
    ["queue", "list"],
    ["queue", "hold", "12345"],
    ["remove", "-p", "x", "-r"],
    ["sendmail", "a@example.test"],
    ["inject", "a@example.test"],
    ["explain", "1.1"],
    ["rules", "test", "--ip", "192.0.2.1"],
    ["rules", "replay", "qmd.log"],
  ];
  for (const command of commands) {
    const result = await run([...command, "--home", missing]);
    assertOneLine(result, missing, command.join(" "));
    assertEquals(result.out, [], `${command.join(" ")}: nothing on stdout`);
  }
});

Deno.test("cli: a directory that is not a qmd home is refused, not listed as empty", async () => {
  const notHome = await makeTempHome();
  Deno.mkdirSync(notHome, { recursive: true });
  for (
    const command of [
      ["user", "list"],
      ["domain", "list", "--json"],
      ["qread"],
      ["newu"],
      ["queue", "list"],
      ["remove"],
    ]
  ) {
    const result = await run([...command, "--home", notHome]);
    assertOneLine(result, `${notHome} is not a qmd home`, command.join(" "));
  }
});

Deno.test("cli: bad flags, values and subcommands get one line of our own and 64", async () => {
  const home = await makeTempHome();
  const cases: [string[], string][] = [
    [["user", "passwd", "--quota", "5"], "qmd user passwd: unknown option --quota"],
    [["user", "add", "a@b.example", "--quota"], "qmd user add: --quota needs a value"],
    [["user", "add", "a@b.example", "--quota", "lots", "--password-stdin"], '"lots"'],
    [["user", "frob"], 'unknown subcommand "frob"'],
    [["user"], "expected add, del, passwd, quota, rename or list"],
    [["user", "quota", "a@b.example", "lots"], 'Invalid size "lots"'],
    [["alias", "add", "a@b.example"], "expected ADDRESS and TARGET"],
    [["alias"], "expected add, del or list"],
    [["domain", "list", "extra"], 'unexpected argument "extra"'],
    [["showctl", "--json=1"], "--json takes no value"],
    [["qread", "--home"], "--home needs a value"],
    [["qstat", "--home", ""], "--home needs a directory"],
    [["init", "--me", ""], '--me "" is not a host name'],
    [["init", "--me", "-x"], "--me needs a value"],
    [["queue", "frob"], 'unknown subcommand "frob"'],
    [["queue", "list", "--bogus"], "qmd queue list: unknown option --bogus"],
    [["queue", "bounce"], "qmd queue bounce: give one or more message numbers"],
    [["remove", "-n", "many"], "qmail-remove: -n needs a positive number of bytes"],
    [["frob"], 'unknown command "frob"'],
    [["toString"], 'unknown command "toString"'],
  ];
  for (const [args, includes] of cases) {
    const result = await run([...args, ...(args.includes("--home") ? [] : ["--home", home])]);
    assertOneLine(result, includes, args.join(" "));
    assertEquals(result.code, 64, args.join(" "));
    assert(!result.err[0].includes("To specify"), "not the parser's text");
  }
});

Deno.test("cli: init on a path that cannot be a home says which path and why", async () => {
  const base = await makeTempHome();
  Deno.mkdirSync(base, { recursive: true });
  Deno.writeTextFileSync(`${base}/file`, "x");
  for (const [home, includes] of [[`${base}/file`, "is not a directory"], ["/proc/x", "/proc/x"]]) {
    const result = await run(["init", "--home", home]);
    assertOneLine(result, includes, home);
  }
});

Deno.test("cli (process): unknown program names, no command, and the stdio programs", async () => {
  const unknown = await runQmd(["anything"], { env: { QMD_ARGV0: "/var/qmail/bin/qmail-lspawn" } });
  assertEquals(unknown.code, 64);
  assertEquals(unknown.stdout, "");
  assertEquals(unknown.stderr.trim().split("\n").length, 1, unknown.stderr);
  assertStringIncludes(unknown.stderr, 'unknown program "qmail-lspawn"');

  const bare = await runQmd([]);
  assertEquals([bare.code, bare.stdout], [64, ""]);
  assertStringIncludes(bare.stderr, "usage: qmd <command>");

  const missing = `${await makeTempHome()}/nowhere`;
  const queue = await runQmd(["queue", "--home", missing], { stdin: "x" });
  assertEquals(queue.code, 61);
  assertEquals(queue.stderr.trim().split("\n"), [
    `qmd queue: cannot use the home ${missing}: file does not exist (exit 61)`,
  ]);

  const pop3d = await runQmd(["pop3d", "--home", missing], { stdin: "" });
  assert(pop3d.code !== 0);
  assertEquals(pop3d.stdout, "-ERR [SYS/TEMP] unable to read controls\r\n");
  assertEquals(pop3d.stderr.trim().split("\n").length, 1, pop3d.stderr);
  assertStringIncludes(pop3d.stderr, missing);

  // qmail-remote's report is its result (its caller wants exit 0); stderr says why.
  const remote = await runQmd(["remote", "--home", missing, "h.example", "a@b", "c@d"], {
    stdin: "x\n",
  });
  assertEquals(remote.stdout, "ZUnable to read control files. (#4.3.0)\n\0");
  assertEquals(remote.stderr.trim().split("\n").length, 1, remote.stderr);
  assertStringIncludes(remote.stderr, missing);
});
