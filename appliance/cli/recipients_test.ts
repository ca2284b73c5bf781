import { assertEquals } from "../../tests/assert.ts";
import { readCdbFile } from "../../config/cdb.ts";
import { loadRecipients } from "../../config/recipient_checks.ts";
import { findRecipient } from "../filters/recipients.ts";
import { main } from "./recipients.ts";

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

Deno.test("qmd recipients: builds the fastforward-compatible cdb recipientchk 2 reads", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/users`);
    await Deno.mkdir(`${home}/control`);
    await Deno.writeTextFile(
      `${home}/users/recipients`,
      "# who we take mail for\nJoe@Example.test  \n\n!@open.test\nlist-@example.test\npostmaster\n",
    );
    assertEquals(await quietly(() => main(["--home", home])), 0);
    const reader = await readCdbFile(`${home}/users/recipients.cdb`);
    const keys = reader!.records().map((record) => new TextDecoder().decode(record.key));
    assertEquals(keys, [
      ":joe@example.test",
      ":!@open.test",
      ":list-@example.test",
      ":postmaster",
    ]);
    assertEquals(reader!.get(":joe@example.test")?.length, 0);
    // The check finds what the tool wrote, through control/recipients.
    await Deno.writeTextFile(`${home}/control/me`, "mx.example.test\n");
    await Deno.writeTextFile(`${home}/control/recipients`, "users/recipients.cdb\n");
    const { tables } = loadRecipients(home);
    assertEquals(findRecipient("JOE@example.test", tables)?.key, ":joe@example.test");
    assertEquals(findRecipient("anyone@open.test", tables)?.key, ":!@open.test");
    assertEquals(findRecipient("list-bounce@example.test", tables)?.key, ":list-@example.test");
    assertEquals(findRecipient("jane@example.test", tables), undefined);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("qmd recipients: a missing source exits 111 and names it; bad options exit 64", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/users`);
    const messages: string[] = [];
    const { error } = console;
    console.error = (line: string) => messages.push(line);
    try {
      assertEquals(await main(["--home", home]), 111);
    } finally {
      console.error = error;
    }
    assertEquals(messages.length, 1);
    assertEquals(
      messages[0].startsWith(`qmd recipients: fatal: unable to read ${home}/users/recipients`),
      true,
    );
    assertEquals(await quietly(() => main(["--bogus"])), 64);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
