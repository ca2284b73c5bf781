import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { initHome } from "../home/init_home.ts";
import { main } from "./alias.ts";
import { deliverInHome } from "./test_delivery.ts";
import { captureConsole, streamOf } from "./test_io.ts";
import { main as userMain } from "./user.ts";

async function withHome(fn: (home: string) => Promise<void>) {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    const add = await captureConsole(() =>
      userMain(["add", "joe@example.com", "--password-stdin", "--home", home], streamOf("pw\n"))
    );
    assertEquals(add.result, 0, add.err.join("\n"));
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

async function alias(home: string, ...args: string[]) {
  return await captureConsole(() => main([...args, "--home", home]));
}

Deno.test("qmd alias: a virtual domain's alias is its .qmail file; delivery forwards to every target", async () => {
  await withHome(async (home) => {
    const add = await alias(home, "add", "Sales@example.com", "joe@example.com", "bob@other.org");
    assertEquals(add.result, 0, add.err.join("\n"));
    const file = `${home}/mail/example.com/.qmail-sales`;
    assertEquals(add.out, [
      `qmd alias: sales@example.com now forwards to joe@example.com, bob@other.org (${file})`,
    ]);
    assertEquals(Deno.readTextFileSync(file), "&joe@example.com\n&bob@other.org\n");
    const delivered = await deliverInHome(home, "sales@example.com");
    assertEquals(delivered.report.status, "K", delivered.report.text);
    assertEquals(delivered.forwarded, ["joe@example.com", "bob@other.org"]);

    const again = await alias(home, "add", "sales@example.com", "BOB@other.org");
    assertEquals(again.out, ["qmd alias: sales@example.com already forwards to BOB@other.org"]);
    const dotted = await alias(home, "add", "first.last@example.com", "joe@example.com");
    assertEquals(dotted.result, 0);
    assert(Deno.statSync(`${home}/mail/example.com/.qmail-first:last`).isFile);
    assertEquals(
      (await deliverInHome(home, "First.Last@example.com")).forwarded,
      ["joe@example.com"],
    );

    const list = await alias(home, "list", "--domain", "example.com");
    assertEquals(list.out, [
      `first.last@example.com\tjoe@example.com\t${home}/mail/example.com/.qmail-first:last`,
      `sales@example.com\tjoe@example.com, bob@other.org\t${file}`,
    ]);

    const one = await alias(home, "del", "sales@example.com", "bob@other.org");
    assertEquals(one.out, ["qmd alias: sales@example.com no longer forwards to bob@other.org"]);
    assertEquals(Deno.readTextFileSync(file), "&joe@example.com\n");
    const missing = await alias(home, "del", "sales@example.com", "bob@other.org");
    assertEquals([missing.result, missing.err.length], [100, 1]);
    const all = await alias(home, "del", "sales@example.com");
    assertEquals(all.out, [`qmd alias: removed sales@example.com (${file})`]);
    assertEquals((await deliverInHome(home, "sales@example.com")).report.status, "D");
  });
});

Deno.test("qmd alias: a local domain's alias is the alias user's .qmail file", async () => {
  await withHome(async (home) => {
    const add = await alias(home, "add", "info@mail.example.com", "joe@example.com");
    assertEquals(add.result, 0, add.err.join("\n"));
    assertEquals(Deno.readTextFileSync(`${home}/alias/.qmail-info`), "&joe@example.com\n");
    assertEquals((await deliverInHome(home, "info@mail.example.com")).forwarded, [
      "joe@example.com",
    ]);
    const json = await alias(home, "list", "--json");
    const entries = JSON.parse(json.out.join("\n"));
    const info = entries.find((entry: { address: string }) =>
      entry.address === "info@mail.example.com"
    );
    assertEquals(info.forwards, ["joe@example.com"]);
    const postmaster = entries.find((entry: { address: string }) =>
      entry.address === "postmaster@mail.example.com"
    );
    assertEquals([postmaster.forwards, postmaster.other], [[], ["./Maildir/"]]);
    // A file with other delivery lines is not removed as a whole.
    const refused = await alias(home, "del", "postmaster@mail.example.com");
    assertEquals(refused.result, 100);
    assertStringIncludes(refused.err[0], ".qmail-postmaster line 1 is not a forward");
    assert(Deno.statSync(`${home}/alias/.qmail-postmaster`).isFile);
  });
});

Deno.test("qmd alias: refuses addresses a mailbox, users/assign or another host takes, and bad targets", async () => {
  await withHome(async (home) => {
    const cases: [string[], number, string][] = [
      [["add", "joe@example.com", "x@other.org"], 100, "delivered to the mailbox"],
      [["add", "joe-lists@example.com", "x@other.org"], 100, "delivered to the mailbox"],
      [["add", "a@elsewhere.example", "x@other.org"], 100, "is not delivered here"],
      [["add", "a@example.com", "|rm -rf /"], 64, "Invalid target"],
      [["add", "a@example.com", "./Maildir/"], 64, "Invalid target"],
      [["add", "a@example.com"], 64, "expected ADDRESS and TARGET"],
      [["del"], 64, "expected ADDRESS"],
      [["del", "nobody@example.com"], 100, "No alias nobody@example.com"],
      [["frobnicate"], 64, "unknown subcommand"],
    ];
    Deno.writeTextFileSync(`${home}/users/assign`, `=boss:boss:1:1:${home}/boss:::\n.\n`);
    cases.push([["add", "boss@mail.example.com", "x@other.org"], 100, "users/assign gives"]);
    for (const [args, code, text] of cases) {
      const result = await alias(home, ...args);
      assertEquals([result.result, result.err.length], [code, 1], args.join(" "));
      assertStringIncludes(result.err[0], text, args.join(" "));
      assertEquals(result.out, [], args.join(" "));
    }
  });
});
