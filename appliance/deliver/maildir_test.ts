import { assert, assertEquals, assertMatch, assertRejects } from "../../tests/assert.ts";
import { DeliveryError } from "./delivery_error.ts";
import {
  deliverToMaildir,
  formatMaildirName,
  MAILBOX_FULL,
  MAILDIR_CHDIR,
  MAILDIR_READ,
  MAILDIR_TEMPORARY,
} from "./maildir.ts";

const encoder = new TextEncoder();
const parts = {
  rpline: encoder.encode("Return-Path: <bob@example.org>\n"),
  dtline: encoder.encode("Delivered-To: joe@example.com\n"),
};
const NOW = new Date(Date.UTC(2024, 2, 5, 7, 8, 9, 123));

async function withMaildir(fn: (dir: string, message: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/Maildir`;
    for (const sub of ["tmp", "new", "cur"]) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    const message = `${root}/message`;
    await Deno.writeTextFile(message, "Subject: hi\n\nFrom here\nbody");
    await fn(dir, message);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();

Deno.test("formatMaildirName: TIME.M<micros>P<pid>Q<count>.HOST, / and : escaped", () => {
  assertEquals(
    formatMaildirName(NOW, 42, 7, "mx.example.com"),
    "1709622489.M123000P42Q7.mx.example.com",
  );
  assertEquals(formatMaildirName(NOW, 1, 1, "a/b:c"), "1709622489.M123000P1Q1.a\\057b\\072c");
  assertEquals(formatMaildirName(NOW, 1, 1, "h", 99), "1709622489.M123000P1Q1.h,S=99");
});

Deno.test("deliverToMaildir: Return-Path + Delivered-To + message, in new/ only", async () => {
  await withMaildir(async (dir, message) => {
    const result = await deliverToMaildir(dir, parts, message, { hostname: "mx", now: NOW });
    assertEquals(names(`${dir}/tmp`), []);
    assertEquals(names(`${dir}/cur`), []);
    assertEquals(names(`${dir}/new`), [result.name]);
    assertMatch(result.name, /^1709622489\.M123000P\d+Q\d+\.mx$/);
    const content = await Deno.readTextFile(`${dir}/new/${result.name}`);
    assertEquals(
      content,
      "Return-Path: <bob@example.org>\nDelivered-To: joe@example.com\nSubject: hi\n\nFrom here\nbody",
    );
    assertEquals(result.size, content.length);
    assertEquals((await Deno.stat(`${dir}/new/${result.name}`)).mode! & 0o777, 0o600);
  });
});

Deno.test("deliverToMaildir: two deliveries in the same second get distinct names (M3)", async () => {
  await withMaildir(async (dir, message) => {
    const options = { hostname: "mx", now: NOW };
    const [a, b] = await Promise.all([
      deliverToMaildir(dir, parts, message, options),
      deliverToMaildir(dir, parts, message, options),
    ]);
    const c = await deliverToMaildir(dir, parts, message, options);
    assertEquals(new Set([a.name, b.name, c.name]).size, 3);
    assertEquals(names(`${dir}/new`).length, 3);
  });
});

Deno.test("deliverToMaildir: a missing Maildir is qmail's chdir error unless create is set", async () => {
  await withMaildir(async (dir, message) => {
    const missing = `${dir}-other`;
    const error = await assertRejects(
      () => deliverToMaildir(missing, parts, message, { hostname: "mx", now: NOW }),
      DeliveryError,
    );
    assertEquals(error.message, MAILDIR_CHDIR);
    assertEquals(error.temporary, true);
    const made = `${dir}/../mail/example.com/joe/Maildir`;
    const result = await deliverToMaildir(made, parts, message, {
      hostname: "mx",
      now: NOW,
      create: true,
    });
    assertEquals(names(`${made}/new`), [result.name]);
    assertEquals(names(made), ["cur", "new", "tmp"]);
  });
});

Deno.test("deliverToMaildir: missing tmp/ is a temporary error and leaves nothing", async () => {
  await withMaildir(async (dir, message) => {
    await Deno.remove(`${dir}/tmp`);
    const error = await assertRejects(
      () => deliverToMaildir(dir, parts, message, { hostname: "mx", now: NOW }),
      DeliveryError,
    );
    assertEquals(error.temporary, true);
    assertEquals(error.message, "Temporary error on maildir delivery. (#4.3.0)");
    assertEquals(names(`${dir}/new`), []);
  });
});

Deno.test("deliverToMaildir: an unreadable message is qmail's read error", async () => {
  await withMaildir(async (dir) => {
    const error = await assertRejects(
      () => deliverToMaildir(dir, parts, `${dir}/no-such-message`, { hostname: "mx", now: NOW }),
      DeliveryError,
    );
    assertEquals(error.message, MAILDIR_READ);
    assertEquals(names(`${dir}/tmp`), []);
  });
});

Deno.test("deliverToMaildir: over a Maildir++ quota is permanent; maildirsize is kept up", async () => {
  await withMaildir(async (dir, message) => {
    const size = parts.rpline.length + parts.dtline.length + (await Deno.stat(message)).size;
    const quota = { bytes: size * 2, messages: 0 };
    const first = await deliverToMaildir(dir, parts, message, { hostname: "mx", now: NOW, quota });
    assert(first.name.endsWith(`,S=${size}`));
    assertEquals(
      await Deno.readTextFile(`${dir}/maildirsize`),
      `${size * 2}S\n0 0\n${size} 1\n`,
    );
    await deliverToMaildir(dir, parts, message, { hostname: "mx", now: NOW, quota });
    const error = await assertRejects(
      () => deliverToMaildir(dir, parts, message, { hostname: "mx", now: NOW, quota }),
      DeliveryError,
    );
    assertEquals(error.message, MAILBOX_FULL);
    assertEquals(error.temporary, false);
    assertEquals(names(`${dir}/new`).length, 2);
    assertEquals(names(`${dir}/tmp`), []);
    // Zero limits mean no quota at all.
    await deliverToMaildir(dir, parts, message, {
      hostname: "mx",
      now: NOW,
      quota: { bytes: 0, messages: 0 },
    });
    assertEquals(names(`${dir}/new`).length, 3);
  });
});

Deno.test("deliverToMaildir: a maildirsize in a .qmail Maildir is honoured", async () => {
  await withMaildir(async (dir, message) => {
    await Deno.writeTextFile(`${dir}/maildirsize`, "1C\n0 0\n");
    await deliverToMaildir(dir, parts, message, { hostname: "mx", now: NOW });
    const error = await assertRejects(
      () => deliverToMaildir(dir, parts, message, { hostname: "mx", now: NOW }),
      DeliveryError,
    );
    assertEquals(error.temporary, false);
  });
});

Deno.test("deliverToMaildir: message bytes given in memory are written as the file would be", async () => {
  await withMaildir(async (dir, message) => {
    const bytes = await Deno.readFile(message);
    const result = await deliverToMaildir(dir, parts, `${dir}/not-read`, {
      hostname: "mx",
      now: NOW,
      message: bytes,
    });
    assertEquals(
      await Deno.readTextFile(`${dir}/new/${result.name}`),
      "Return-Path: <bob@example.org>\nDelivered-To: joe@example.com\nSubject: hi\n\nFrom here\nbody",
    );
    assertEquals(names(`${dir}/tmp`), []);
  });
});

Deno.test("deliverToMaildir: a Maildir checked a moment ago and then removed gets the same errors", async () => {
  await withMaildir(async (dir, message) => {
    const options = { hostname: "mx", now: NOW };
    await deliverToMaildir(dir, parts, message, options);
    await Deno.remove(`${dir}/tmp`);
    const noTmp = await assertRejects(
      () => deliverToMaildir(dir, parts, message, options),
      DeliveryError,
    );
    assertEquals(noTmp.message, MAILDIR_TEMPORARY);
    await Deno.remove(dir, { recursive: true });
    const gone = await assertRejects(
      () => deliverToMaildir(dir, parts, message, options),
      DeliveryError,
    );
    assertEquals(gone.message, MAILDIR_CHDIR);
    // With create, a removed new/ (or the whole Maildir) is made again.
    await deliverToMaildir(dir, parts, message, { ...options, create: true });
    await Deno.remove(`${dir}/new`, { recursive: true });
    const again = await deliverToMaildir(dir, parts, message, { ...options, create: true });
    assertEquals(names(`${dir}/new`), [again.name]);
    assertEquals(names(`${dir}/tmp`), []);
  });
});
