import { assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { findHomeProblem, resolveHome } from "./home.ts";

Deno.test("resolveHome: --home, else a non-empty $QMD_HOME, else ./qmd-home", () => {
  const env = (value: string | undefined) => (name: string) =>
    name === "QMD_HOME" ? value : undefined;
  assertEquals(resolveHome("/srv/qmd", env("/other")), "/srv/qmd");
  assertEquals(resolveHome(undefined, env("/other")), "/other");
  assertEquals(resolveHome(undefined, env("")), `${Deno.cwd()}/qmd-home`);
  assertEquals(resolveHome(undefined, env(undefined)), `${Deno.cwd()}/qmd-home`);
});

Deno.test("findHomeProblem names the path and what is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertStringIncludes(findHomeProblem(`${dir}/none`) ?? "", `no qmd home at ${dir}/none`);
    assertStringIncludes(
      findHomeProblem(dir) ?? "",
      `${dir} is not a qmd home: it has no control/`,
    );
    Deno.writeTextFileSync(`${dir}/file`, "");
    assertEquals(findHomeProblem(`${dir}/file`), `${dir}/file is not a directory`);
    Deno.writeTextFileSync(`${dir}/queue`, "");
    assertEquals(findHomeProblem(dir, "queue"), `${dir}/queue is not a directory`);
    Deno.mkdirSync(`${dir}/control`);
    assertEquals(findHomeProblem(dir), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
