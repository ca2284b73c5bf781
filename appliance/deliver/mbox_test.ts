import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { DeliveryError } from "./delivery_error.ts";
import { deliverToMbox, formatMboxBody, FromLineQuoter, MBOX_LOCKED } from "./mbox.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const parts = {
  ufline: encoder.encode("From bob@example.org Tue Mar 05 07:08:09 2024\n"),
  rpline: encoder.encode("Return-Path: <bob@example.org>\n"),
  dtline: encoder.encode("Delivered-To: joe@example.com\n"),
};

const body = (text: string) => decoder.decode(formatMboxBody(encoder.encode(text)));

Deno.test("formatMboxBody: >*From quoting, final LF, blank separator (§6.6)", () => {
  assertEquals(body("a\n"), "a\n\n");
  assertEquals(body("a"), "a\n\n");
  assertEquals(body(""), "\n");
  assertEquals(body("From x\n"), ">From x\n\n");
  assertEquals(
    body("x\nFrom y\n>From z\n>>From w\nFromage\n From v\n"),
    "x\n>From y\n>>From z\n>>>From w\nFromage\n From v\n\n",
  );
  assertEquals(body(">>\n>\nFrom"), ">>\n>\nFrom\n\n");
  assertEquals(body("From "), ">From \n\n");
});

Deno.test("FromLineQuoter: the same result whatever the chunk boundaries", () => {
  const text = "Subject: x\n\nFrom a\n>>From b\n>Fro\nFrom\n>>>\nlast From line";
  const expected = decoder.decode(formatMboxBody(encoder.encode(text)));
  const bytes = encoder.encode(text);
  for (let size = 1; size <= 7; size++) {
    const quoter = new FromLineQuoter();
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i += size) {
      out.push(...quoter.push(bytes.subarray(i, i + size)));
    }
    out.push(...quoter.finish(), 0x0a);
    assertEquals(decoder.decode(Uint8Array.from(out)), expected, `chunk size ${size}`);
  }
});

async function withFiles(fn: (mbox: string, message: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const message = `${dir}/message`;
    await Deno.writeTextFile(message, "Subject: hi\n\nFrom here\nbody");
    await fn(`${dir}/mbox`, message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deliverToMbox: UFLINE, RPLINE, DTLINE, quoted body, appended", async () => {
  await withFiles(async (mbox, message) => {
    await deliverToMbox(mbox, parts, message);
    const one = "From bob@example.org Tue Mar 05 07:08:09 2024\n" +
      "Return-Path: <bob@example.org>\nDelivered-To: joe@example.com\n" +
      "Subject: hi\n\n>From here\nbody\n\n";
    assertEquals(await Deno.readTextFile(mbox), one);
    assertEquals((await Deno.stat(mbox)).mode! & 0o777, 0o600);
    await deliverToMbox(mbox, parts, message);
    assertEquals(await Deno.readTextFile(mbox), one + one);
  });
});

Deno.test("deliverToMbox: a lock held elsewhere times out with qmail's text", async () => {
  await withFiles(async (mbox, message) => {
    await Deno.writeTextFile(mbox, "old\n");
    const holder = await Deno.open(mbox, { read: true, write: true });
    try {
      await holder.lock(true);
      const error = await assertRejects(
        () => deliverToMbox(mbox, parts, message, { lockTimeoutMs: 0 }),
        DeliveryError,
      );
      assertEquals(error.message, MBOX_LOCKED);
      assertEquals(error.temporary, true);
    } finally {
      await holder.unlock();
      holder.close();
    }
    assertEquals(await Deno.readTextFile(mbox), "old\n");
    // Released: the next delivery takes the lock (polling, should the release lag behind close).
    await deliverToMbox(mbox, parts, message, { lockTimeoutMs: 5000 });
  });
});

Deno.test("deliverToMbox: open and read failures are temporary with qmail's wording", async () => {
  await withFiles(async (mbox, message) => {
    const open = await assertRejects(
      () => deliverToMbox(`${mbox}/nested`, parts, message),
      DeliveryError,
    );
    assertEquals(open.temporary, true);
    assertEquals(open.message.startsWith(`Unable to open ${mbox}/nested: `), true);
    assertEquals(open.message.endsWith(". (#4.2.1)"), true);
    const read = await assertRejects(
      () => deliverToMbox(mbox, parts, `${message}.missing`),
      DeliveryError,
    );
    assertEquals(read.message, "Unable to read message: file does not exist. (#4.3.0)");
    // Nothing was left behind by the failed attempt.
    assertEquals(await Deno.readTextFile(mbox), "");
  });
});
