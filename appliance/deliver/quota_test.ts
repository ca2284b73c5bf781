import { assertEquals } from "../../tests/assert.ts";
import {
  addMaildirQuota,
  exceedsQuota,
  formatQuotaDefinition,
  measureMaildir,
  parseMaildirsize,
  parseQuotaDefinition,
  readMaildirQuota,
  sizeFromName,
} from "./quota.ts";

const NOW = new Date(Date.UTC(2024, 2, 5, 7, 8, 9));

Deno.test("quota definitions: NS,NC both ways", () => {
  assertEquals(parseQuotaDefinition("10000000S,1000C"), { bytes: 10000000, messages: 1000 });
  assertEquals(parseQuotaDefinition("1000C"), { bytes: 0, messages: 1000 });
  assertEquals(parseQuotaDefinition("5S,junk"), { bytes: 5, messages: 0 });
  assertEquals(parseQuotaDefinition(""), { bytes: 0, messages: 0 });
  assertEquals(formatQuotaDefinition({ bytes: 10000000, messages: 1000 }), "10000000S,1000C");
  assertEquals(formatQuotaDefinition({ bytes: 0, messages: 7 }), "7C");
  assertEquals(formatQuotaDefinition({ bytes: 0, messages: 0 }), "0S");
});

Deno.test("parseMaildirsize: sums the delta lines, rejects corrupt files", () => {
  assertEquals(parseMaildirsize("100S,10C\n50 2\n25 1\n-10 -1\n"), {
    quota: { bytes: 100, messages: 10 },
    usage: { bytes: 65, messages: 2 },
    deltaLines: 3,
  });
  // An incomplete last line (an append in progress) is ignored.
  assertEquals(parseMaildirsize("100S\n50 2\n25")?.usage, { bytes: 50, messages: 2 });
  assertEquals(parseMaildirsize("100S\n"), undefined);
  assertEquals(parseMaildirsize("100S\nfifty two\n"), undefined);
  assertEquals(parseMaildirsize("100S\n-5 -1\n"), undefined);
  assertEquals(parseMaildirsize(""), undefined);
});

Deno.test("exceedsQuota: either limit, zero = none", () => {
  const quota = { bytes: 100, messages: 2 };
  assertEquals(exceedsQuota(quota, { bytes: 50, messages: 1 }, { bytes: 50, messages: 1 }), false);
  assertEquals(exceedsQuota(quota, { bytes: 50, messages: 1 }, { bytes: 51, messages: 1 }), true);
  assertEquals(exceedsQuota(quota, { bytes: 0, messages: 2 }, { bytes: 1, messages: 1 }), true);
  assertEquals(
    exceedsQuota({ bytes: 0, messages: 0 }, { bytes: 9e9, messages: 9e9 }, {
      bytes: 1,
      messages: 1,
    }),
    false,
  );
});

Deno.test("sizeFromName: ,S=NNN as Maildir++ writers put it", () => {
  assertEquals(sizeFromName("1.M1P1Q1.h,S=1234"), 1234);
  assertEquals(sizeFromName("1.M1P1Q1.h,S=1234:2,S"), 1234);
  assertEquals(sizeFromName("1.M1P1Q1.h,S=12,W=14:2,"), 12);
  assertEquals(sizeFromName("1.2.h"), undefined);
});

async function withMaildir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for (const sub of ["tmp", "new", "cur", ".Sent/new", ".Sent/cur", ".Trash/cur"]) {
      await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    }
    await Deno.writeTextFile(`${dir}/new/1.M1P1Q1.h,S=100`, "x".repeat(10));
    await Deno.writeTextFile(`${dir}/cur/2.M1P1Q1.h:2,S`, "y".repeat(30));
    await Deno.writeTextFile(`${dir}/.Sent/cur/3.M1P1Q1.h,S=5:2,S`, "z");
    await Deno.writeTextFile(`${dir}/.Trash/cur/4.M1P1Q1.h,S=1000:2,S`, "t");
    await Deno.writeTextFile(`${dir}/tmp/5.M1P1Q1.h`, "in progress");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("measureMaildir: new/ and cur/ of the Maildir and its folders except .Trash", async () => {
  await withMaildir(async (dir) => {
    // 100 (from the name) + 30 (stat) + 5 (from the name)
    assertEquals(await measureMaildir(dir), { bytes: 135, messages: 3 });
  });
});

Deno.test("readMaildirQuota: missing file is rebuilt for a configured quota", async () => {
  await withMaildir(async (dir) => {
    const check = await readMaildirQuota(dir, { bytes: 1000, messages: 0 }, {
      bytes: 1,
      messages: 1,
    }, NOW);
    assertEquals(check, {
      quota: { bytes: 1000, messages: 0 },
      usage: { bytes: 135, messages: 3 },
    });
    assertEquals(await Deno.readTextFile(`${dir}/maildirsize`), "1000S\n135 3\n");
    assertEquals([...Deno.readDirSync(`${dir}/tmp`)].length, 1); // only the in-progress file
  });
});

Deno.test("readMaildirQuota: no configured quota and no file means no quota", async () => {
  await withMaildir(async (dir) => {
    assertEquals(await readMaildirQuota(dir, undefined, { bytes: 1, messages: 1 }, NOW), undefined);
    assertEquals(
      await readMaildirQuota(dir, { bytes: 0, messages: 0 }, { bytes: 1, messages: 1 }, NOW),
      undefined,
    );
  });
});

Deno.test("readMaildirQuota: trusts a fresh file, rebuilds on a new definition or size", async () => {
  await withMaildir(async (dir) => {
    await Deno.writeTextFile(`${dir}/maildirsize`, "1000S\n7 1\n");
    const trusted = await readMaildirQuota(dir, undefined, { bytes: 1, messages: 1 }, new Date());
    assertEquals(trusted?.usage, { bytes: 7, messages: 1 });
    // The account now has a different quota: rewritten with it and recounted.
    const changed = await readMaildirQuota(
      dir,
      { bytes: 2000, messages: 5 },
      { bytes: 1, messages: 1 },
      new Date(),
    );
    assertEquals(changed?.usage, { bytes: 135, messages: 3 });
    assertEquals(await Deno.readTextFile(`${dir}/maildirsize`), "2000S,5C\n135 3\n");
    // 5120 bytes or more: recounted.
    await Deno.writeTextFile(`${dir}/maildirsize`, "2000S,5C\n" + "1 0\n".repeat(1300));
    const big = await readMaildirQuota(dir, undefined, { bytes: 1, messages: 1 }, new Date());
    assertEquals(big, { quota: { bytes: 2000, messages: 5 }, usage: { bytes: 135, messages: 3 } });
  });
});

Deno.test("readMaildirQuota: an over-quota answer from several lines is recounted", async () => {
  await withMaildir(async (dir) => {
    await Deno.writeTextFile(`${dir}/maildirsize`, "200S\n100 1\n100 1\n");
    const check = await readMaildirQuota(dir, undefined, { bytes: 10, messages: 1 }, new Date());
    assertEquals(check?.usage, { bytes: 135, messages: 3 });
    // One line, fresh: believed even when over.
    await Deno.writeTextFile(`${dir}/maildirsize`, "200S\n195 1\n");
    const fresh = await readMaildirQuota(dir, undefined, { bytes: 10, messages: 1 }, new Date());
    assertEquals(fresh?.usage, { bytes: 195, messages: 1 });
    // One line, older than 15 minutes: recounted.
    const later = new Date(Date.now() + 16 * 60 * 1000);
    const stale = await readMaildirQuota(dir, undefined, { bytes: 10, messages: 1 }, later);
    assertEquals(stale?.usage, { bytes: 135, messages: 3 });
  });
});

Deno.test("addMaildirQuota: appends a delta line; nothing without a file", async () => {
  await withMaildir(async (dir) => {
    await addMaildirQuota(dir, 42, 1);
    assertEquals([...Deno.readDirSync(dir)].some((e) => e.name === "maildirsize"), false);
    await Deno.writeTextFile(`${dir}/maildirsize`, "1000S\n0 0\n");
    await addMaildirQuota(dir, 42, 1);
    assertEquals(await Deno.readTextFile(`${dir}/maildirsize`), "1000S\n0 0\n42 1\n");
  });
});
