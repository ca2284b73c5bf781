import { assertEquals } from "../tests/assert.ts";
import { readCheckpassword } from "./checkpassword.ts";

Deno.test("readCheckpassword: the words of the first line; absent or empty is none", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/control`);
    assertEquals(readCheckpassword(home), undefined);
    Deno.writeTextFileSync(`${home}/control/checkpassword`, "  \n");
    assertEquals(readCheckpassword(home), undefined);
    Deno.writeTextFileSync(`${home}/control/checkpassword`, "/bin/cp  /bin/true \nignored\n");
    assertEquals(readCheckpassword(home), ["/bin/cp", "/bin/true"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
