import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { loadDkimKeys } from "../../config/dkim.ts";
import { initHome } from "../home/init_home.ts";
import { captureConsole } from "./test_io.ts";
import { defaultSelector, main } from "./dkim.ts";
import { main as dnsMain } from "./dns.ts";
import { main as domainMain } from "./domain.ts";
import { main as showctlMain } from "./showctl.ts";
import { dkimRecord, formatTxtStrings, parseDkimTags } from "../remote/dkim_records.ts";

async function withHome(body: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-dkim-" });
  try {
    await initHome(home, { me: "mx.example.com" });
    await body(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("qmd dkim: add RSA and Ed25519 keys (0600), list them, show their TXT records", async () => {
  await withHome(async (home) => {
    const rsa = await captureConsole(() => main(["add", "Example.COM", "--home", home]));
    assertEquals(rsa.result, 0, rsa.err.join("\n"));
    const selector = defaultSelector(new Date(), "rsa");
    assertMatch(selector, /^qmd\d{6}$/);
    const path = `${home}/control/dkim/example.com/${selector}.key`;
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
    assertStringIncludes(
      rsa.out.join("\n"),
      `${selector}._domainkey.example.com.  IN TXT  "v=DKIM1; k=rsa; p=`,
    );
    const ed = await captureConsole(() =>
      main(["add", "example.com", "--ed25519", "--selector", "s2", "--home", home])
    );
    assertEquals(ed.result, 0, ed.err.join("\n"));
    const again = await captureConsole(() =>
      main(["add", "example.com", "--selector", "s2", "--home", home])
    );
    assertEquals([again.result, again.err.length], [100, 1], "an existing selector is kept");

    const keys = loadDkimKeys(home);
    assertEquals(keys.map((key) => `${key.selector} ${key.algorithm}`), [
      `${selector} rsa`,
      "s2 ed25519",
    ]);
    const list = await captureConsole(() => main(["list", "--home", home]));
    assertEquals(
      list.out,
      keys.map((key) => `example.com\t${key.selector}\t${key.algorithm}\t${key.file}`),
    );

    const show = await captureConsole(() => main(["show", "example.com", "--home", home]));
    assertEquals(show.out.length, 2);
    const [rsaRecord, edRecord] = keys.map(dkimRecord);
    // RFC 1035: a 2048-bit key's text is longer than one 255-byte character-string.
    assertEquals(formatTxtStrings(rsaRecord.text).split('" "').length, 2);
    assertEquals(parseDkimTags(edRecord.text).get("k"), "ed25519");
    assertEquals(atob(edRecord.publicKey).length, 32, "RFC 8463: the raw Ed25519 key");
    const showctl = await captureConsole(() => showctlMain(["--home", home, "--json"]));
    const parsed = JSON.parse(showctl.out.join("\n"));
    assertEquals(parsed.unknown, [], "control/dkim/ is a known directory");
    const dkim = parsed.controls.find((c: { name: string }) => c.name.startsWith("dkim/"));
    assertEquals(dkim.value, [`example.com ${selector} rsa`, "example.com s2 ed25519"]);
    const none = await captureConsole(() => main(["show", "other.com", "--home", home]));
    assertEquals(none.result, 100);
    for (
      const args of [["add"], ["add", "bad_domain"], ["add", "x.com", "--selector", "a b"], ["x"]]
    ) {
      const bad = await captureConsole(() => main([...args, "--home", home]));
      assertEquals([bad.result, bad.err.length], [64, 1], args.join(" "));
    }
  });
});

Deno.test("qmd dns: the DKIM records of the domain's keys; check says ok, missing and wrong", async () => {
  await withHome(async (home) => {
    await captureConsole(() => main(["add", "example.com", "--selector", "good", "--home", home]));
    await captureConsole(() =>
      main(["add", "example.com", "--selector", "gone", "--ed25519", "--home", home])
    );
    await captureConsole(() =>
      main(["add", "example.com", "--selector", "old", "--ed25519", "--home", home])
    );
    const records = loadDkimKeys(home).map(dkimRecord);
    const [good, old] = ["good", "old"].map((selector) =>
      records.find((record) => record.name.startsWith(`${selector}.`))!
    );
    const printed = await captureConsole(() =>
      dnsMain(["example.com", "--ip", "192.0.2.1", "--home", home])
    );
    const zone = printed.out.join("\n");
    assertMatch(
      zone,
      /\ngood\._domainkey\.example\.com\. +IN TXT +"v=DKIM1; k=rsa; p=[^"]+" "[^"]+"\n/,
    );
    assertStringIncludes(zone, formatTxtStrings(good.text));
    assert(!zone.includes("No DKIM key"), zone);

    const other = records.find((record) => record.name.startsWith("gone."))!;
    const dns = await startFakeDns({
      // As DNS carries it: the long text in 255-byte character-strings.
      "good._domainkey.example.com": { txt: [good.text.match(/.{1,255}/g)!] },
      // Another key than old's: wrong.
      "old._domainkey.example.com": { txt: [other.text] },
    });
    try {
      const check = await captureConsole(() =>
        dnsMain([
          "check",
          "example.com",
          "--ip",
          "127.0.0.1",
          "--dns",
          `127.0.0.1:${dns.port}`,
          "--home",
          home,
        ])
      );
      const out = check.out.join("\n");
      assertEquals(check.result, 1);
      assertStringIncludes(out, "ok good._domainkey.example.com TXT: v=DKIM1; k=rsa; p=");
      assertStringIncludes(
        out,
        'missing gone._domainkey.example.com TXT: publish "v=DKIM1; k=ed25519; p=',
      );
      assertStringIncludes(out, `wrong old._domainkey.example.com TXT: v=DKIM1; k=ed25519; p=`);
      assertStringIncludes(out, `expected "${old.text}"`);
    } finally {
      await dns.close();
    }
  });
});

Deno.test("qmd domain add prints the records to publish, with a hint while there is no DKIM key", async () => {
  await withHome(async (home) => {
    const add = await captureConsole(() => domainMain(["add", "example.org", "--home", home]));
    assertEquals(add.result, 0, add.err.join("\n"));
    const out = add.out.join("\n");
    assertStringIncludes(out, "example.org.");
    assertStringIncludes(out, "IN MX    10 mx.example.com.");
    assertStringIncludes(
      out,
      "; No DKIM key for example.org yet: qmd dkim add example.org makes one.",
    );
    await captureConsole(() =>
      main(["add", "example.org", "--selector", "s", "--ed25519", "--home", home])
    );
    const again = await captureConsole(() => domainMain(["add", "example.org", "--home", home]));
    assertStringIncludes(
      again.out.join("\n"),
      's._domainkey.example.org.  IN TXT   "v=DKIM1; k=ed25519; p=',
    );
  });
});
