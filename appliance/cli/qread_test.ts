import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestQueue } from "../queue/test_queue.ts";

const SCRIPT = new URL("./qread.ts", import.meta.url).pathname;

async function qread(...args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("qmd qread prints qmail-qread's bytes and exit codes", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-qread-" });
  try {
    const layout = makeTestQueue(home);
    const encoder = new TextEncoder();
    Deno.writeFileSync(layout.mess(25n), encoder.encode("Received: x\n\nhi\n"));
    Deno.writeFileSync(layout.info(25n), encoder.encode("Fme@here\0"));
    Deno.utimeSync(layout.info(25n), 1709622489, 1709622489);
    Deno.writeFileSync(layout.remote(25n), encoder.encode("Dyou@there\0Tthem@there\0"));
    const output = await qread("--home", home);
    assertEquals(output.code, 0);
    assertEquals(
      new TextDecoder().decode(output.stdout),
      "5 Mar 2024 07:08:09 GMT  #25  16  <me@here> \n" +
        "  done\tremote\tyou@there\n" +
        "\tremote\tthem@there\n",
    );
    Deno.removeSync(`${layout.root}/info/5`);
    const broken = await qread("--home", home);
    assertEquals(broken.code, 111);
    assertStringIncludes(
      new TextDecoder().decode(broken.stdout),
      "fatal: unable to opendir info/5: file does not exist\n",
    );
    assertEquals((await qread("--help")).code, 0);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
