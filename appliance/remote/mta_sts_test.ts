import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { type FakeHttps, startFakeHttps } from "../../tests/fakes/fake_https.ts";
import type { FakeZone } from "../../tests/fakes/fake_dns.ts";
import { createCertificate, type CreatedCertificate } from "../tls/self_signed.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { buildRemoteSecurity } from "./remote_security.ts";
import { makeTestRemote, type TestRemote, withMx, ZONE } from "./test_remote.ts";
import type { FakeMx, FakeMxOptions } from "../../tests/fakes/fake_mx.ts";
import { reportDay } from "./tls_report.ts";

/** TLS-RPT's counts for example.test today: successes and failure result types. */
function reported(s: TestRemote): { success: number; failures: string[] } {
  const counts = s.ctx.security?.tlsReports.counts(reportDay(Date.now())) ?? {};
  const entries = Object.values(counts).filter((entry) => entry.policy.domain === "example.test");
  return {
    success: entries.reduce((sum, entry) => sum + entry.success, 0),
    failures: entries.flatMap((entry) =>
      Object.values(entry.failures).flatMap((failure) =>
        Array(failure.count).fill(failure.resultType)
      )
    ).sort(),
  };
}

/** A test CA, certificates it signed for the MX hosts and the policy host, and one it did not. */
interface Pki {
  caPem: string;
  mx1: CreatedCertificate;
  mx2: CreatedCertificate;
  web: CreatedCertificate;
  stranger: CreatedCertificate;
}

let pki: Pki | undefined;

async function testPki(): Promise<Pki> {
  if (pki !== undefined) return pki;
  const ca = await createCertificate({ commonName: "qmd test CA", usage: "ca" });
  const issued = (name: string) => createCertificate({ commonName: name, issuer: ca });
  pki = {
    caPem: ca.certPem,
    mx1: await issued("mx1.example.test"),
    mx2: await issued("mx2.example.test"),
    web: await issued("mta-sts.example.test"),
    stranger: await createCertificate({ commonName: "mx1.example.test" }),
  };
  return pki;
}

/** test_remote's ZONE (example.test's two MXes), with an MTA-STS policy for example.test. */
function zone(id = "20261203"): FakeZone {
  return {
    ...ZONE,
    "_mta-sts.example.test": { txt: [`v=STSv1; id=${id};`] },
    "mta-sts.example.test": { a: ["127.0.0.1"] },
  };
}

function policy(mode: string, mx: string[], maxAge = 86400): string {
  return `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join("")}` +
    `max_age: ${maxAge}\r\n`;
}

function textPlain(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/plain" } });
}

/** A remote context trusting the test CA, fetching policies from `web`. */
async function remoteWithSts(
  fakeZone: FakeZone,
  port: number,
  web: FakeHttps,
  caPem: string,
): Promise<TestRemote> {
  const s = await makeTestRemote(fakeZone, port, (home) => {
    Deno.writeTextFileSync(`${home}/control/remoteca.pem`, caPem);
  });
  s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver, { httpsPort: web.port });
  return s;
}

/**
 * The MX servers of `options` and a remote context (remoteWithSts) sending to
 * the first one's port; `run` gets both, and everything is closed after it.
 */
function withStsRemote(
  web: FakeHttps,
  caPem: string,
  options: FakeMxOptions[],
  fakeZone: FakeZone,
  run: (s: TestRemote, mxs: FakeMx[]) => Promise<void>,
): Promise<void> {
  return withMx(options, async (mxs) => {
    const s = await remoteWithSts(fakeZone, mxs[0].port, web, caPem);
    try {
      await run(s, mxs);
    } finally {
      await s.close();
    }
  });
}

Deno.test("MTA-STS enforce: only the policy's MX, with a verified certificate", async () => {
  const p = await testPki();
  const web = await startFakeHttps(
    { cert: p.web.certPem, key: p.web.keyPem },
    () => textPlain(policy("enforce", ["mx2.example.test"])),
  );
  try {
    await withStsRemote(
      web,
      p.caPem,
      [
        { host: "127.0.0.2", tls: { cert: p.mx1.certPem, key: p.mx1.keyPem } },
        { host: "127.0.0.3", tls: { cert: p.mx2.certPem, key: p.mx2.keyPem } },
      ],
      zone(),
      async (s, [mx1, mx2]) => {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "K", report.text);
        assertEquals(mx1.connections(), 0, "mx1 is not in the policy");
        assertEquals(mx2.messages.length, 1);
        assertEquals(mx2.messages[0].tls, true);
        assertEquals(web.hosts, ["mta-sts.example.test"]);
        assertEquals(web.paths, ["/.well-known/mta-sts.txt"]);
        // The policy is cached: a second delivery does not fetch it again.
        assertEquals((await deliverRemote(await s.job("carol@example.test"), s.ctx)).status, "K");
        assertEquals(web.hosts.length, 1);
        // TLS-RPT: two good sessions, and mx1 counted as not in the policy each time.
        assertEquals(reported(s), {
          success: 2,
          failures: ["validation-failure", "validation-failure"],
        });
      },
    );
  } finally {
    await web.close();
  }
});

Deno.test("MTA-STS enforce: no TLS, an unverified certificate or no listed MX defers", async () => {
  const p = await testPki();
  let served = policy("enforce", ["mx1.example.test"]);
  const web = await startFakeHttps(
    { cert: p.web.certPem, key: p.web.keyPem },
    () => textPlain(served),
  );
  try {
    // No STARTTLS offered.
    await withStsRemote(web, p.caPem, [{ host: "127.0.0.2" }], zone(), async (s, [mx]) => {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "Z");
      assertEquals(
        report.text,
        "No TLS achieved while the MTA-STS policy of example.test requires it; connected to 127.0.0.2.\n",
      );
      assertEquals(mx.messages.length, 0);
      // mx2 is not in the policy: tried after mx1 failed, skipped, counted.
      assertEquals(reported(s), {
        success: 0,
        failures: ["starttls-not-supported", "validation-failure"],
      });
    });
    // A certificate the trusted CAs did not sign.
    await withStsRemote(
      web,
      p.caPem,
      [{ host: "127.0.0.2", tls: { cert: p.stranger.certPem, key: p.stranger.keyPem } }],
      zone("2"),
      async (s, [mx]) => {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "Z");
        assertMatch(
          report.text,
          /^TLS unable to verify server with the MTA-STS policy of example\.test's rules: .+; connected to 127\.0\.0\.2\.\n$/,
        );
        assertEquals(mx.messages.length, 0);
        assertEquals(reported(s), {
          success: 0,
          failures: ["certificate-not-trusted", "validation-failure"],
        });
        // A tlshosts pin wins over MTA-STS: pinned to that very certificate, it goes.
        Deno.writeTextFileSync(
          `${s.home}/control/tlshosts/mx1.example.test.pem`,
          p.stranger.certPem,
        );
        const pinned = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(pinned.status, "K", pinned.text);
      },
    );
    // A certificate for another name (mx2's certificate on mx1).
    await withStsRemote(
      web,
      p.caPem,
      [{ host: "127.0.0.2", tls: { cert: p.mx2.certPem, key: p.mx2.keyPem } }],
      zone("3"),
      async (s) => {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "Z");
        assertMatch(report.text, /^TLS unable to verify server with .*mx1\.example\.test/);
        assertEquals(reported(s), {
          success: 0,
          failures: ["certificate-host-mismatch", "validation-failure"],
        });
      },
    );
    // No MX host of the domain is in the policy.
    served = policy("enforce", ["*.elsewhere.test"]);
    await withStsRemote(web, p.caPem, [{ host: "127.0.0.2" }], zone("4"), async (s, [mx]) => {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "Z");
      assertEquals(
        report.text,
        "Sorry, no MX may be used: MX mx1.example.test is not in the MTA-STS policy of example.test; MX mx2.example.test is not in the MTA-STS policy of example.test. (#4.7.5)\n",
      );
      assertEquals(mx.connections(), 0);
    });
  } finally {
    await web.close();
  }
});

Deno.test("MTA-STS testing: delivered anyway with an unverified certificate", async () => {
  const p = await testPki();
  const web = await startFakeHttps(
    { cert: p.web.certPem, key: p.web.keyPem },
    () => textPlain(policy("testing", ["mx1.example.test"])),
  );
  try {
    await withStsRemote(
      web,
      p.caPem,
      [{ host: "127.0.0.2", tls: { cert: p.stranger.certPem, key: p.stranger.keyPem } }],
      zone(),
      async (s, [mx]) => {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "K", report.text);
        assertEquals(mx.messages[0].tls, true, "testing mode asks for STARTTLS");
        assertEquals(reported(s), { success: 0, failures: ["certificate-not-trusted"] });
      },
    );
  } finally {
    await web.close();
  }
});

Deno.test("MTA-STS: a policy that cannot be had is no policy; the cache file outlives the role", async () => {
  const p = await testPki();
  let answer = (): Response => new Response("", { status: 301, headers: { location: "/x" } });
  const web = await startFakeHttps({ cert: p.web.certPem, key: p.web.keyPem }, () => answer());
  try {
    await withStsRemote(web, p.caPem, [{ host: "127.0.0.2" }], zone("a1"), async (s, [mx]) => {
      // A redirect is not followed: no policy, delivered in plain text.
      assertEquals((await deliverRemote(await s.job("bob@example.test"), s.ctx)).status, "K");
      // Too big, or not text/plain: no policy either (new ids make it fetch again).
      answer = () => textPlain("x".repeat(70 * 1024));
      s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver, { httpsPort: web.port });
      assertEquals((await deliverRemote(await s.job("bob@example.test"), s.ctx)).status, "K");
      answer = () =>
        new Response(policy("enforce", ["mx9.example.test"]), {
          headers: { "content-type": "text/html" },
        });
      s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver, { httpsPort: web.port });
      const before = web.hosts.length;
      assertEquals((await deliverRemote(await s.job("bob@example.test"), s.ctx)).status, "K");
      assertEquals(web.hosts.length, before + 1);
      // A good enforce policy naming no MX of the domain: deferred, and remembered on disk.
      answer = () => textPlain(policy("enforce", ["mx9.example.test"]));
      s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver, { httpsPort: web.port });
      assertEquals((await deliverRemote(await s.job("bob@example.test"), s.ctx)).status, "Z");
      const file = JSON.parse(Deno.readTextFileSync(`${s.home}/mailsec/mtasts.json`));
      assertEquals(file.policies["example.test"].id, "a1");
      // A restarted role (new state, same home) with the web server unreachable still enforces.
      s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver, { httpsPort: 1 });
      const again = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(again.status, "Z");
      assert(again.text.includes("not in the MTA-STS policy"), again.text);
      assertEquals(mx.messages.length, 3);
    });
  } finally {
    await web.close();
  }
});

Deno.test("MTA-STS enforce: a host whose TLS fails passes the message to the next MX", async () => {
  const p = await testPki();
  const web = await startFakeHttps(
    { cert: p.web.certPem, key: p.web.keyPem },
    () => textPlain(policy("enforce", ["*.example.test"])),
  );
  try {
    await withStsRemote(
      web,
      p.caPem,
      [
        { host: "127.0.0.2", tls: { cert: p.stranger.certPem, key: p.stranger.keyPem } },
        { host: "127.0.0.3", tls: { cert: p.mx2.certPem, key: p.mx2.keyPem } },
      ],
      zone(),
      async (s, [mx1, mx2]) => {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "K", report.text);
        assertEquals([mx1.messages.length, mx2.messages.length], [0, 1]);
        assertEquals(reported(s), { success: 1, failures: ["certificate-not-trusted"] });
      },
    );
  } finally {
    await web.close();
  }
});
