import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeInitedHome, runQmd } from "../../tests/harness.ts";
import { startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { expectedRecords, formatZone } from "./dns_records.ts";
import { formatStsPolicy, stsPolicyId } from "../mta_sts/policy_text.ts";

const PLAN = { domain: "example.com", host: "mx.example.com", ips: ["192.0.2.1", "2001:db8::1"] };

Deno.test("dns records: MX, the host's addresses, SPF, DMARC, TLS-RPT, then the PTRs", () => {
  const zone = formatZone(PLAN);
  for (
    const line of [
      "example.com.             IN MX    10 mx.example.com.",
      "mx.example.com.          IN A     192.0.2.1",
      "mx.example.com.          IN AAAA  2001:db8::1",
      'example.com.             IN TXT   "v=spf1 mx -all"',
      '_dmarc.example.com.      IN TXT   "v=DMARC1; p=none; rua=mailto:postmaster@example.com"',
      '_smtp._tls.example.com.  IN TXT   "v=TLSRPTv1; rua=mailto:postmaster@example.com"',
    ]
  ) assertStringIncludes(zone, line);
  assertStringIncludes(zone, "1.2.0.192.in-addr.arpa.");
  assertStringIncludes(zone, "No DKIM key for example.com yet: qmd dkim add example.com");
  const mx = expectedRecords(PLAN)[0];
  assertEquals(mx.satisfied(["10 MX.Example.com."]), true, "any preference, case, trailing dot");
  assertEquals(mx.satisfied(["10 other.example.net"]), false);
});

Deno.test("qmd dns check: ok, missing and wrong per record, and SPF evaluated for each address", async () => {
  const dns = await startFakeDns({
    "example.com": {
      mx: [{ preference: 10, exchange: "mx.example.com" }],
      txt: ["v=spf1 ip4:127.0.0.0/8 -all"],
    },
    "mx.example.com": { a: ["127.0.0.1"] },
    "_dmarc.example.com": { txt: ["v=DMARC1; p=reject"] },
  });
  try {
    const home = await makeInitedHome();
    const args = ["dns", "check", "example.com", "--host", "mx.example.com", "--home", home];
    const good = await runQmd([...args, "--ip", "127.0.0.1", "--dns", `127.0.0.1:${dns.port}`]);
    assertEquals(good.code, 1, "TLS-RPT and the PTR are missing");
    assertStringIncludes(good.stdout, "ok example.com MX: 10 mx.example.com");
    assertStringIncludes(good.stdout, "ok _dmarc.example.com TXT: v=DMARC1; p=reject");
    assertStringIncludes(
      good.stdout,
      'missing _smtp._tls.example.com TXT: publish "v=TLSRPTv1; rua=mailto:postmaster@example.com"',
    );
    assertStringIncludes(
      good.stdout,
      "missing 1.0.0.127.in-addr.arpa PTR: publish mx.example.com.",
    );
    assertStringIncludes(good.stdout, "ok SPF example.com for 127.0.0.1: pass");
    const elsewhere = await runQmd([
      ...args,
      "--ip",
      "192.0.2.9",
      "--dns",
      `127.0.0.1:${dns.port}`,
    ]);
    assertStringIncludes(elsewhere.stdout, "wrong mx.example.com A: 127.0.0.1; expected 192.0.2.9");
    assertStringIncludes(elsewhere.stdout, "wrong SPF example.com for 192.0.2.9: fail");
  } finally {
    await dns.close();
  }
});

Deno.test("qmd dns: control/mtasts adds the _mta-sts TXT with the served id and the mta-sts CNAME", async () => {
  const policyId = await stsPolicyId(
    formatStsPolicy({ mode: "enforce", maxAge: 86400, mx: ["mx.example.com"] }),
  );
  const zone = formatZone({ ...PLAN, mtaStsId: policyId });
  assertStringIncludes(zone, `_mta-sts.example.com.    IN TXT   "v=STSv1; id=${policyId}"`);
  assertStringIncludes(zone, "mta-sts.example.com.     IN CNAME mx.example.com.");
  assertStringIncludes(zone, "https://mta-sts.example.com/.well-known/mta-sts.txt");
  assertEquals(formatZone(PLAN).includes("_mta-sts"), false, "no policy, no records");

  const home = await makeInitedHome();
  Deno.writeTextFileSync(
    `${home}/control/mtasts`,
    "mode: enforce\nmax_age: 86400\nmx: mx.example.com\n",
  );
  const dns = await startFakeDns({
    "_mta-sts.example.com": { txt: [`v=STSv1; id=${policyId}`] },
    "mta-sts.example.com": { cname: "mx.example.com" },
    "mx.example.com": { a: ["127.0.0.1"] },
    "_mta-sts.example.net": { txt: ["v=STSv1; id=old1"] },
  });
  try {
    const base = ["--host", "mx.example.com", "--ip", "127.0.0.1", "--home", home];
    const printed = await runQmd(["dns", "example.com", ...base]);
    assertStringIncludes(printed.stdout, `"v=STSv1; id=${policyId}"`);
    const dnsFlag = ["--dns", `127.0.0.1:${dns.port}`];
    const good = await runQmd(["dns", "check", "example.com", ...base, ...dnsFlag]);
    assertStringIncludes(good.stdout, `ok _mta-sts.example.com TXT: v=STSv1; id=${policyId}`);
    assertStringIncludes(good.stdout, "ok mta-sts.example.com CNAME: mx.example.com");
    const stale = await runQmd(["dns", "check", "example.net", ...base, ...dnsFlag]);
    assertStringIncludes(
      stale.stdout,
      `wrong _mta-sts.example.net TXT: v=STSv1; id=old1; expected "v=STSv1; id=${policyId}"`,
    );
    assertStringIncludes(
      stale.stdout,
      "missing mta-sts.example.net CNAME: publish mx.example.com.",
    );
  } finally {
    await dns.close();
  }
});
