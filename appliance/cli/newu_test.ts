import { assertEquals } from "../../tests/assert.ts";
import { readCdbFile } from "../../config/cdb.ts";
import { lookupAssign } from "../../config/users.ts";
import { main } from "./newu.ts";

async function quietly(fn: () => Promise<number>): Promise<number> {
  const { log, error } = console;
  console.log = () => {};
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("qmd newu: compiles users/assign into users/cdb", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/users`);
    await Deno.writeTextFile(`${home}/users/assign`, "=joe:joe:1:1:/home/joe:::\n.\n");
    assertEquals(await quietly(() => main(["--home", home])), 0);
    const reader = await readCdbFile(`${home}/users/cdb`);
    assertEquals(lookupAssign(reader!, "joe")?.home, "/home/joe");
    assertEquals([...Deno.readDirSync(`${home}/users`)].map((e) => e.name).sort(), [
      "assign",
      "cdb",
    ]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("qmd newu: bad input exits 111 and keeps the old cdb", async () => {
  const home = await Deno.makeTempDir();
  try {
    assertEquals(await quietly(() => main(["--home", home])), 111);
    await Deno.mkdir(`${home}/users`);
    await Deno.writeTextFile(`${home}/users/assign`, "=joe:joe:1:1:/home/joe:::\n.\n");
    assertEquals(await quietly(() => main(["--home", home])), 0);
    await Deno.writeTextFile(`${home}/users/assign`, "=joe:joe:1:1:/home/joe:::\n=bad\n.\n");
    const messages: string[] = [];
    const { error } = console;
    console.error = (line: string) => messages.push(line);
    try {
      assertEquals(await main(["--home", home]), 111);
    } finally {
      console.error = error;
    }
    assertEquals(messages.length, 1);
    assertEquals(messages[0].startsWith(`qmd newu: fatal: ${home}/users/assign line 2:`), true);
    const reader = await readCdbFile(`${home}/users/cdb`);
    assertEquals(lookupAssign(reader!, "joe")?.user, "joe");
    assertEquals(await quietly(() => main(["--bogus"])), 64);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
