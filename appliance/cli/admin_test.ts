import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { captureConsole, streamOf } from "./test_io.ts";
import { main } from "./admin.ts";
import { findAdminToken, verifyAdminPassword } from "../admin/admin_state.ts";

async function makeHome(): Promise<string> {
  const home = `${await Deno.makeTempDir()}/home`;
  Deno.mkdirSync(`${home}/control`, { recursive: true });
  return home;
}

Deno.test("qmd admin passwd: from stdin, or a random one printed once; the hash is what is kept", async () => {
  const home = await makeHome();
  try {
    const given = await captureConsole(() =>
      main(["passwd", "--password-stdin", "--home", home], streamOf("chosen password\n"))
    );
    assertEquals(given.result, 0);
    assertEquals(given.out, ["qmd admin: changed the admin password"]);
    assert(await verifyAdminPassword(home, "chosen password"));

    const random = await captureConsole(() => main(["passwd", "--home", home]));
    assertEquals(random.result, 0);
    const password = /^admin password: (\S+) /.exec(random.out[0])?.[1] ?? "";
    assert(await verifyAdminPassword(home, password));
    assert(!(await verifyAdminPassword(home, "chosen password")));
  } finally {
    await Deno.remove(home.slice(0, -5), { recursive: true });
  }
});

Deno.test("qmd admin token: prints a token once on stdout; the home keeps its hash under the name", async () => {
  const home = await makeHome();
  try {
    const made = await captureConsole(() => main(["token", "--name", "grafana", "--home", home]));
    assertEquals(made.result, 0);
    assertMatch(made.out[0], /^qmd_\S+$/);
    assertEquals(findAdminToken(home, made.out[0]), "grafana");
    assertStringIncludes(made.err.join("\n"), "shown once");
  } finally {
    await Deno.remove(home.slice(0, -5), { recursive: true });
  }
});

Deno.test("qmd admin: bad subcommands, flags and homes get one line and an exit code", async () => {
  const home = await makeHome();
  try {
    for (
      const [args, code] of [
        [[], 64],
        [["frobnicate"], 64],
        [["token", "--name", "bad name"], 64],
        [["token", "--password-stdin"], 64],
        [["passwd", "--name", "x"], 64],
        [["passwd", "--password-stdin"], 64],
      ] as const
    ) {
      const run = await captureConsole(() => main([...args, "--home", home], streamOf("")));
      assertEquals(run.result, code, args.join(" "));
      assertEquals(run.err.length, 1, run.err.join("\n"));
    }
    const missing = await captureConsole(() => main(["token", "--home", `${home}/nowhere`]));
    assertEquals(missing.result, 100);
  } finally {
    await Deno.remove(home.slice(0, -5), { recursive: true });
  }
});
