import { assert, assertEquals } from "../../tests/assert.ts";
import { MemoryMessage, openMessageSource, SMALL_MESSAGE_BYTES } from "./message_source.ts";
import { measureMessage } from "./message_measure.ts";
import { streamBody } from "./body_encoder.ts";

async function readAll(file: { read(buffer: Uint8Array): Promise<number | null> }, chunk = 7) {
  const parts: number[] = [];
  const buffer = new Uint8Array(chunk);
  for (;;) {
    const count = await file.read(buffer);
    if (count === null) break;
    parts.push(...buffer.subarray(0, count));
  }
  return new Uint8Array(parts);
}

Deno.test("MemoryMessage reads in chunks from the offset a seek sets, as a file does", async () => {
  const bytes = new TextEncoder().encode("Subject: x\n\nbody line\n");
  const message = new MemoryMessage(bytes);
  assertEquals(await readAll(message), bytes);
  assertEquals(await message.read(new Uint8Array(4)), null);
  assertEquals(await message.seek(0, Deno.SeekMode.Start), 0);
  assertEquals(await readAll(message, 64), bytes);
  assertEquals(await message.seek(-5, Deno.SeekMode.End), bytes.length - 5);
  assertEquals(new TextDecoder().decode(await readAll(message)), "line\n");
});

Deno.test("openMessageSource: a small message from memory (file closed), a large one from the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qmd-source-" });
  try {
    const small = `${dir}/small`;
    const text = "Subject: hi\n\n" + "x".repeat(5000) + "\n";
    Deno.writeTextFileSync(small, text);
    const source = openMessageSource(small);
    assert(source.file instanceof MemoryMessage);
    assertEquals(source.size, text.length);
    // Measured and sent from memory exactly as from the file.
    const fromFile = await Deno.open(small);
    try {
      assertEquals(await measureMessage(source.file), await measureMessage(fromFile));
      const sent: Uint8Array[] = [];
      await source.file.seek(0, Deno.SeekMode.Start);
      assertEquals(
        await streamBody(source.file, (b) => Promise.resolve(void sent.push(b))),
        "sent",
      );
      assert(new TextDecoder().decode(sent.at(-1)!).endsWith("\r\n.\r\n"));
    } finally {
      fromFile.close();
    }
    source.close();

    const large = `${dir}/large`;
    Deno.writeFileSync(large, new Uint8Array(SMALL_MESSAGE_BYTES + 1).fill(0x61));
    const big = openMessageSource(large);
    assert(!(big.file instanceof MemoryMessage));
    assertEquals(big.size, SMALL_MESSAGE_BYTES + 1);
    assertEquals((await readAll(big.file, 65536)).length, SMALL_MESSAGE_BYTES + 1);
    big.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
