import { assertEquals } from "../../tests/assert.ts";
import { deliverToProgram, formatProgramEnvironment, programOutcome } from "./program.ts";

const decoder = new TextDecoder();

Deno.test("programOutcome: qmail-local's exit code table (§6.5)", () => {
  assertEquals(programOutcome(0, null), "success");
  assertEquals(programOutcome(99, null), "stop");
  for (const code of [100, 64, 65, 70, 76, 77, 78, 112]) {
    assertEquals(programOutcome(code, null), "permanent", `code ${code}`);
  }
  for (const code of [1, 2, 71, 75, 111, 101, 255]) {
    assertEquals(programOutcome(code, null), "temporary", `code ${code}`);
  }
  assertEquals(programOutcome(137, "SIGKILL"), "crashed");
});

Deno.test("formatProgramEnvironment: EXT2-4, HOST2-4, DEFAULT only when set", () => {
  const env = formatProgramEnvironment({
    user: "joe",
    home: "/home/joe",
    local: "joe-list-a-b-c",
    host: "mail.example.co.uk",
    sender: "bob@example.org",
    newSender: "joe-list-owner@mail.example.co.uk",
    ext: "list-a-b-c",
    dtline: "Delivered-To: joe-list-a-b-c@mail.example.co.uk\n",
    rpline: "Return-Path: <bob@example.org>\n",
    ufline: "From bob@example.org Tue Mar 05 07:08:09 2024\n",
  });
  assertEquals(env.RECIPIENT, "joe-list-a-b-c@mail.example.co.uk");
  assertEquals([env.EXT, env.EXT2, env.EXT3, env.EXT4], ["list-a-b-c", "a-b-c", "b-c", "c"]);
  assertEquals([env.HOST2, env.HOST3, env.HOST4], ["mail.example.co", "mail.example", "mail"]);
  assertEquals("DEFAULT" in env, false);
  const short = formatProgramEnvironment({
    user: "u",
    home: "/h",
    local: "x",
    host: "localhost",
    sender: "",
    newSender: "",
    ext: "",
    defaultPart: "Foo",
    dtline: "",
    rpline: "",
    ufline: "",
  });
  assertEquals([short.EXT2, short.EXT3, short.EXT4], ["", "", ""]);
  assertEquals([short.HOST2, short.HOST3, short.HOST4], ["localhost", "localhost", "localhost"]);
  assertEquals(short.DEFAULT, "Foo");
});

async function withMessage(fn: (dir: string, message: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const message = `${dir}/message`;
    await Deno.writeTextFile(message, "Subject: hi\n\nbody\n");
    await fn(dir, message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deliverToProgram: stdin is the message, cwd the home, env added", async () => {
  await withMessage(async (dir, message) => {
    const result = await deliverToProgram(
      'cat > got; pwd; printf "%s|%s" "$LOCAL" "$DTLINE"; echo err >&2',
      { cwd: dir, env: { LOCAL: "joe", DTLINE: "Delivered-To: joe@x\n" }, messagePath: message },
    );
    assertEquals(result.outcome, "success");
    assertEquals(await Deno.readTextFile(`${dir}/got`), "Subject: hi\n\nbody\n");
    const realDir = await Deno.realPath(dir);
    assertEquals(decoder.decode(result.output), `${realDir}\njoe|Delivered-To: joe@x\nerr\n`);
  });
});

Deno.test("deliverToProgram: exit codes, signals, and programs that ignore stdin", async () => {
  await withMessage(async (dir, message) => {
    const run = (command: string) =>
      deliverToProgram(command, { cwd: dir, env: {}, messagePath: message });
    assertEquals((await run("exit 99")).outcome, "stop");
    assertEquals((await run("echo no such user; exit 100")).outcome, "permanent");
    const temporary = await run("echo busy; exit 111");
    assertEquals(temporary.outcome, "temporary");
    assertEquals(decoder.decode(temporary.output), "busy\n");
    assertEquals((await run("exit 3")).outcome, "temporary");
    const crashed = await run("kill -9 $$");
    assertEquals(crashed.outcome, "crashed");
    assertEquals(crashed.signal, "SIGKILL");
  });
});

Deno.test("deliverToProgram: output is capped but fully drained", async () => {
  await withMessage(async (dir, message) => {
    const result = await deliverToProgram("head -c 100000 /dev/zero | tr '\\0' x", {
      cwd: dir,
      env: {},
      messagePath: message,
      outputLimit: 3001,
    });
    assertEquals(result.outcome, "success");
    assertEquals(result.output.length, 3001);
  });
});

Deno.test("deliverToProgram: a program that exits without reading a big message", async () => {
  await withMessage(async (dir, message) => {
    await Deno.writeFile(message, new Uint8Array(4 * 1024 * 1024).fill(0x61));
    const result = await deliverToProgram("echo done", { cwd: dir, env: {}, messagePath: message });
    assertEquals(result.outcome, "success");
    assertEquals(decoder.decode(result.output), "done\n");
  });
});

Deno.test("deliverToProgram: the program runs with umask 077, as qmail-local runs it", async () => {
  await withMessage(async (dir, message) => {
    const result = await deliverToProgram(
      "umask; cat > made; mkdir madedir; stat -c %a made madedir",
      { cwd: dir, env: {}, messagePath: message },
    );
    assertEquals(result.outcome, "success");
    assertEquals(decoder.decode(result.output), "0077\n600\n700\n");
  });
});
