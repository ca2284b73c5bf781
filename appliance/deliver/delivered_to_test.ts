import { assertEquals } from "../../tests/assert.ts";
import { hasDeliveredToLine, messageHasDeliveredToLine } from "./delivered_to.ts";

Deno.test("hasDeliveredToLine: header only, exact bytes, across read boundaries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dtline = new TextEncoder().encode("Delivered-To: a@b\n");
    const check = async (text: string) => {
      await Deno.writeTextFile(`${dir}/m`, text);
      return await hasDeliveredToLine(`${dir}/m`, dtline);
    };
    assertEquals(await check("X: 1\nDelivered-To: a@b\n\nbody"), true);
    assertEquals(await check("X: 1\nDelivered-To: a@bc\n\n"), false);
    assertEquals(await check("X: 1\n\nDelivered-To: a@b\n"), false);
    assertEquals(await check("Delivered-To: a@b"), false);
    assertEquals(await check("x".repeat(100000) + "\nDelivered-To: a@b\n"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("messageHasDeliveredToLine: the same answers on bytes in memory", () => {
  const encoder = new TextEncoder();
  const dtline = encoder.encode("Delivered-To: a@b\n");
  const check = (text: string) => messageHasDeliveredToLine(encoder.encode(text), dtline);
  assertEquals(check("X: 1\nDelivered-To: a@b\n\nbody"), true);
  assertEquals(check("X: 1\nDelivered-To: a@bc\n\n"), false);
  assertEquals(check("X: 1\n\nDelivered-To: a@b\n"), false);
  assertEquals(check("Delivered-To: a@b"), false);
  assertEquals(check(""), false);
  assertEquals(check("x".repeat(100000) + "\nDelivered-To: a@b\n"), true);
});
