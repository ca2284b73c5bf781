import { assertEquals } from "../../tests/assert.ts";
import { DataEncoder } from "./body_encoder.ts";
import { measureMessage, WireMeasure } from "./message_measure.ts";

const bytes = (text: string) => Uint8Array.from(text, (ch) => ch.charCodeAt(0));

/** The size DataEncoder sends, its stuffed dots taken out (RFC 1870 does not count them). */
function encodedSize(text: string): number {
  const out = new DataEncoder().push(bytes(text));
  let stuffed = 0;
  for (let i = 0; i + 1 < out.length; i++) {
    const lineStart = i === 0 || out[i - 1] === 0x0a;
    if (lineStart && out[i] === 0x2e && out[i + 1] === 0x2e) stuffed++;
  }
  return out.length - stuffed;
}

Deno.test("WireMeasure: SIZE= counts each line end as CR LF, as DataEncoder sends them", () => {
  for (
    const text of [
      "a\nb\n",
      "a\r\nb\r\n",
      "a\rb\r",
      "a\r\rb\n",
      "a\r\r\n\n",
      ".dot\n..two\n",
      "\n\n\n",
      "",
      "no end",
    ]
  ) {
    const measure = new WireMeasure();
    measure.push(bytes(text));
    assertEquals(measure.facts.size, encodedSize(text), JSON.stringify(text));
  }
});

Deno.test("WireMeasure: a CR LF split between chunks counts once; 8-bit bytes are seen", () => {
  const measure = new WireMeasure();
  measure.push(bytes("Subject: x\r"));
  measure.push(bytes("\nplain\n"));
  assertEquals(measure.facts, { size: 19, eightBit: false });
  measure.push(bytes("caf\xe9\n"));
  assertEquals(measure.facts, { size: 25, eightBit: true });
});

Deno.test("measureMessage: reads the file from its start", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, bytes("a\nb\n"));
    using file = await Deno.open(path, { read: true });
    await file.seek(2, Deno.SeekMode.Start);
    assertEquals(await measureMessage(file), { size: 6, eightBit: false });
  } finally {
    await Deno.remove(path);
  }
});
