/**
 * The Authentication-Results scan against a fake DNS zone on loopback:
 * DKIM pass, fail and none (RSA and Ed25519, our signer, nodemailer's and
 * the RFC 8463 vectors), SPF pass and fail, DMARC with relaxed and strict
 * alignment, p=reject refused or marked, p=quarantine marked, ARC, forged
 * headers, a header section too large, and the scan off for relay clients.
 */
import nodemailer from "nodemailer";
import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { startFakeDns } from "../../tests/fakes/fake_dns.ts";
import {
  arcSealed,
  dkimSigned,
  KEYS,
  lfForm,
  mailAuthZone,
  rfc8463Message,
} from "../../tests/fakes/mail_auth.ts";
import type { AuthResultsControls } from "../../config/auth_results.ts";
import type { FilterRequest, Lookup, ScanContext, Verdict } from "../filters/filter.ts";
import { Resolver } from "../dns/resolver.ts";
import { mailauthResolver, runSpfLookup } from "../net/spf_lookup.ts";
import { beginAuthResultsScan } from "./auth_results_scan.ts";

const CONTROLS: AuthResultsControls = {
  enabled: true,
  loopback: true,
  authServId: "mx.qmd.test",
  dmarcReject: false,
};

function request(sender: string, extra: Partial<FilterRequest> = {}): FilterRequest {
  return {
    phase: "data",
    remoteIp: "127.0.0.1",
    env: {},
    relaying: false,
    tls: false,
    helo: "client.example",
    sender,
    recipients: ["joe@example.net"],
    now: 0,
    sessionId: "t1",
    ...extra,
  };
}

interface Outcome {
  verdict: Verdict;
  header: string;
  drops: (field: string) => boolean;
  asked: Lookup[];
  logs: string[];
}

type Scan = (
  message: string,
  sender: string,
  options?: {
    controls?: Partial<AuthResultsControls>;
    chunk?: number;
    extra?: Partial<FilterRequest>;
  },
) => Promise<Outcome>;

async function withZone(body: (scan: Scan) => Promise<void>): Promise<void> {
  const dns = await startFakeDns(mailAuthZone());
  const resolver = new Resolver({
    nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
    timeoutSeconds: 2,
    attempts: 1,
  });
  try {
    await body(async (message, sender, options = {}) => {
      const asked: Lookup[] = [];
      const logs: string[] = [];
      const context: ScanContext = {
        resolve: mailauthResolver(resolver),
        lookup: (lookup) => {
          asked.push(lookup);
          return runSpfLookup(lookup as Lookup & { kind: "spf" }, { resolver, mta: "mx.qmd.test" });
        },
      };
      const scan = beginAuthResultsScan(
        { ...CONTROLS, ...options.controls },
        request(sender, options.extra),
        context,
        (_event, text) => logs.push(text),
      );
      assert(scan !== undefined, "the scan began");
      const bytes = lfForm(message);
      const size = options.chunk ?? 7;
      for (let at = 0; at < bytes.length; at += size) {
        // A reused buffer, as the DATA byte machine's: the scan must copy what it keeps.
        const piece = bytes.slice(at, at + size);
        await scan.write(piece);
        piece.fill(0x58);
      }
      const verdict = await scan.finish();
      const edit = scan.edit!();
      return { verdict, header: edit.prepend.join("\n"), drops: edit.drops, asked, logs };
    });
  } finally {
    await dns.close();
  }
}

const PLAIN = "From: Alice <alice@example.org>\r\nTo: joe@example.net\r\n" +
  "Subject: hello\r\nMessage-ID: <1@example.org>\r\n\r\nHello Joe.\r\n.dot line\r\n";

function entry(header: string, method: string): string {
  const found = header.split(/;\n /).find((part) => part.startsWith(`${method}=`));
  return found ?? "";
}

Deno.test("auth results: DKIM pass (RSA, Ed25519), fail and none; SPF pass and fail", async () => {
  await withZone(async (scan) => {
    const rsa = await scan(await dkimSigned(PLAIN), "alice@example.org");
    assertMatch(rsa.header, /^Authentication-Results: mx\.qmd\.test;\n dkim=pass /);
    assertMatch(
      entry(rsa.header, "dkim"),
      /header\.i=@example\.org header\.s=sel header\.a=rsa-sha256/,
    );
    assertMatch(entry(rsa.header, "spf"), /^spf=pass .*smtp\.mailfrom=alice@example\.org/);
    assertMatch(
      entry(rsa.header, "dmarc"),
      /^dmarc=pass \(p=REJECT arc=none\) header\.from=example\.org/,
    );
    assertEquals(entry(rsa.header, "arc"), "arc=none");
    assertEquals(rsa.verdict, { kind: "pass", log: "dkim=pass spf=pass arc=none dmarc=pass" });
    assertEquals(rsa.logs, ["smtpd t1: auth results: dkim=pass spf=pass arc=none dmarc=pass"]);

    const ed = await scan(
      await dkimSigned(PLAIN, "example.org", "ed", KEYS.ed25519),
      "x@spf-fail.example",
    );
    assertMatch(entry(ed.header, "dkim"), /^dkim=pass .*header\.a=ed25519-sha256/);
    assertMatch(entry(ed.header, "spf"), /^spf=fail .*smtp\.mailfrom=x@spf-fail\.example/);
    // SPF failed for another domain; the aligned signature alone passes DMARC.
    assertMatch(entry(ed.header, "dmarc"), /^dmarc=pass /);

    const tampered = (await dkimSigned(PLAIN)).replace("Hello Joe.", "Hello Jim.");
    const fail = await scan(tampered, "x@spf-fail.example");
    assertMatch(entry(fail.header, "dkim"), /^dkim=neutral \(body hash did not verify\) /);
    assertMatch(entry(fail.header, "dmarc"), /^dmarc=fail \(p=REJECT/);
    assertEquals(fail.verdict.kind, "pass", "dmarcreject 0: only marked");

    const header = (await dkimSigned(PLAIN)).replace("Subject: hello", "Subject: hullo");
    const headerFail = await scan(header, "alice@example.org");
    assertMatch(entry(headerFail.header, "dkim"), /^dkim=fail \(signature error\)|^dkim=fail /);

    // simple/simple: the exact bytes count, so the scan must hand mailauth the client's CRLF
    // (a line ending in a bare CR is "...\r\n" in the LF form, "...\r\r\n" on the wire).
    const spaced = PLAIN.replace("Hello Joe.", "Hello  Joe. \t\r");
    const simple = await scan(
      await dkimSigned(spaced, "example.org", "sel", KEYS.rsa, "simple/simple"),
      "a@x.invalid",
    );
    assertMatch(entry(simple.header, "dkim"), /^dkim=pass /);

    const none = await scan(PLAIN, "alice@example.org");
    assertMatch(none.header, /\n dkim=none \(message not signed\);\n spf=pass /);
    // DMARC passes on SPF alone: the MAIL FROM domain is the From domain.
    assertMatch(entry(none.header, "dmarc"), /^dmarc=pass /);
  });
});

Deno.test("auth results: DMARC alignment, relaxed and strict", async () => {
  await withZone(async (scan) => {
    // Relaxed (example.org's default): news.example.org is aligned with d=example.org.
    const relaxed = await scan(
      await dkimSigned(PLAIN.replace("alice@example.org", "alice@news.example.org")),
      "bounce@spf-fail.example",
    );
    assertMatch(entry(relaxed.header, "dkim"), /^dkim=pass /);
    assertMatch(entry(relaxed.header, "dmarc"), /^dmarc=pass /);
    // Strict (adkim=s, aspf=s): news.strict.example is not strict.example.
    const from = PLAIN.replace("alice@example.org", "alice@news.strict.example");
    const strict = await scan(await dkimSigned(from, "strict.example"), "a@strict.example");
    assertMatch(entry(strict.header, "dkim"), /^dkim=pass .*header\.i=@strict\.example/);
    assertMatch(entry(strict.header, "spf"), /^spf=pass /);
    assertMatch(entry(strict.header, "dmarc"), /^dmarc=fail \(p=REJECT/);
    const exact = PLAIN.replace("alice@example.org", "alice@strict.example");
    const aligned = await scan(await dkimSigned(exact, "strict.example"), "a@spf-fail.example");
    assertMatch(entry(aligned.header, "dmarc"), /^dmarc=pass /);
  });
});

Deno.test("auth results: p=reject is refused with dmarcreject and marked without; quarantine is a mark", async () => {
  await withZone(async (scan) => {
    const forged = PLAIN.replace("Alice <alice@example.org>", "Bank <alerts@example.org>");
    const refused = await scan(forged, "x@spf-fail.example", { controls: { dmarcReject: true } });
    assertEquals(refused.verdict, {
      kind: "refuse",
      reply: ["550 5.7.1 message refused: it fails the DMARC policy of example.org"],
      rule: { check: "dmarc", source: "control/dmarcreject", entry: "example.org p=reject" },
    });
    const marked = await scan(forged, "x@spf-fail.example");
    assertEquals(marked.verdict.kind, "pass");
    assertMatch(
      entry(marked.header, "dmarc"),
      /^dmarc=fail \(p=REJECT arc=none\) header\.from=example\.org/,
    );
    const quarantine = await scan(
      PLAIN.replace("alice@example.org", "alice@quarantine.example"),
      "alice@quarantine.example",
      { controls: { dmarcReject: true } },
    );
    assertEquals(quarantine.verdict.kind, "pass");
    assertMatch(entry(quarantine.header, "dmarc"), /^dmarc=fail \(p=QUARANTINE/);
  });
});

Deno.test("auth results: the RFC 8463 A.3 message (Ed25519 and RSA) and nodemailer's DKIM signature", async () => {
  await withZone(async (scan) => {
    const rfc = await scan(rfc8463Message(), "joe@football.example.com", { chunk: 64 * 1024 });
    const dkim = rfc.header.split(/;\n /).filter((part) => part.startsWith("dkim="));
    assertEquals(dkim.length, 2, rfc.header);
    assertMatch(dkim[0], /^dkim=pass .*header\.s=brisbane header\.a=ed25519-sha256/);
    assertMatch(dkim[1], /^dkim=pass .*header\.s=test header\.a=rsa-sha256/);
    assertMatch(entry(rfc.header, "dmarc"), /^dmarc=pass .*header\.d=football\.example\.com/);

    // An independent signer: nodemailer builds and signs the message itself.
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const info = await transport.sendMail({
      from: "alice@example.org",
      to: "joe@example.net",
      subject: "signed by nodemailer",
      text: "Hello.\n\nTrailing spaces   \nand a long line " + "x".repeat(200) + "\n",
      dkim: { domainName: "example.org", keySelector: "sel", privateKey: KEYS.rsa.privateKey },
    });
    const message = (info.message as unknown as { toString(encoding: string): string })
      .toString("binary");
    const signed = await scan(message, "alice@example.org", { chunk: 100 });
    assertMatch(entry(signed.header, "dkim"), /^dkim=pass .*header\.i=@example\.org/);
    assertMatch(entry(signed.header, "dmarc"), /^dmarc=pass /);
  });
});

Deno.test("auth results: an ARC set sealed by a list passes; a broken seal fails", async () => {
  await withZone(async (scan) => {
    const listResults = "lists.sealer.example; dkim=pass header.d=example.org; spf=pass";
    const sealed = await arcSealed(await dkimSigned(PLAIN), listResults);
    const result = await scan(sealed, "list-bounces@spf-fail.example");
    assertMatch(entry(result.header, "arc"), /^arc=pass \(i=1/);
    assertMatch(entry(result.header, "dmarc"), /arc=pass/);
    // Changed after the seal: the ARC-Message-Signature's body hash no longer matches.
    const changed = sealed.replace("Hello Joe.", "Hello Jim.");
    const failed = await scan(changed, "list-bounces@spf-fail.example");
    assertMatch(entry(failed.header, "arc"), /^arc=fail/);
  });
});

Deno.test("auth results: forged headers with our authserv-id are dropped, others kept", async () => {
  await withZone(async (scan) => {
    const result = await scan(PLAIN, "alice@example.org");
    assert(result.drops("Authentication-Results: mx.qmd.test; dkim=pass header.d=bank.example\n"));
    assert(result.drops("authentication-results:  (forged)\n MX.QMD.TEST;\n spf=pass\n"));
    assert(!result.drops("Authentication-Results: mx.other.example; dkim=pass\n"));
    assert(!result.drops("ARC-Authentication-Results: i=1; mx.qmd.test; dkim=pass\n"));
    assert(!result.drops("Subject: Authentication-Results: mx.qmd.test\n"));
  });
});

Deno.test("auth results: a header section over 1 MiB is refused; relay clients are not checked", async () => {
  await withZone(async (scan) => {
    const huge = `From: a@example.org\r\n${
      `X-Pad: ${"p".repeat(990)}\r\n`.repeat(1100)
    }\r\nbody\r\n`;
    const result = await scan(huge, "a@example.org", { chunk: 64 * 1024 });
    assert(result.verdict.kind === "refuse", "refused");
    assertMatch(result.verdict.reply[0], /^552 5\.3\.4 /);
  });
  const context: ScanContext = {
    resolve: () => Promise.reject(new Error("not asked")),
    lookup: () => Promise.reject(new Error("not asked")),
  };
  assertEquals(
    beginAuthResultsScan(CONTROLS, request("a@x", { relaying: true }), context),
    undefined,
  );
  assertEquals(
    beginAuthResultsScan(CONTROLS, request("a@x", { authUser: "joe" }), context),
    undefined,
  );
  const exempt = request("a@x", { env: { NOAUTHRESULTS: "" } });
  assertEquals(beginAuthResultsScan(CONTROLS, exempt, context), undefined);
  assertEquals(
    beginAuthResultsScan({ ...CONTROLS, enabled: false }, request("a@x"), context),
    undefined,
  );
  assertEquals(beginAuthResultsScan(CONTROLS, request("a@x"), undefined), undefined);
  // Without control/authresults, this box's own programs (loopback clients) are left alone.
  const byDefault = { ...CONTROLS, loopback: false };
  assertEquals(beginAuthResultsScan(byDefault, request("a@x"), context), undefined);
  assertEquals(
    beginAuthResultsScan(byDefault, request("a@x", { remoteIp: "::1" }), context),
    undefined,
  );
  const outside = beginAuthResultsScan(
    byDefault,
    request("a@x", { remoteIp: "192.0.2.7" }),
    context,
  );
  assert(outside !== undefined, "a client from outside is verified by default");
});

Deno.test("auth results: more than 50 signatures are not verified", async () => {
  await withZone(async (scan) => {
    const signed = await dkimSigned(PLAIN);
    const many = signed.slice(0, signed.indexOf("From: ")).repeat(51) + PLAIN;
    const result = await scan(many, "alice@example.org", { chunk: 4096 });
    assertEquals(result.verdict, { kind: "pass", log: "dkim=permerror" });
    assertMatch(result.header, /\n dkim=permerror \(over 50 signatures, none verified\)$/);
  });
});

Deno.test("auth results: DNS down is temperror in the header, never a refusal", async () => {
  const resolver = new Resolver({
    nameServers: [{ ipAddr: "127.0.0.1", port: 9 }],
    timeoutSeconds: 0.3,
    attempts: 1,
  });
  const context: ScanContext = {
    resolve: mailauthResolver(resolver),
    lookup: (lookup) =>
      runSpfLookup(lookup as Lookup & { kind: "spf" }, { resolver, mta: "mx.qmd.test" }),
  };
  const scan = beginAuthResultsScan(
    { ...CONTROLS, dmarcReject: true },
    request("alice@example.org"),
    context,
    () => {},
  )!;
  await scan.write(lfForm(await dkimSigned(PLAIN)));
  const verdict = await scan.finish();
  assertEquals(verdict.kind, "pass");
  const header = scan.edit!().prepend.join("\n");
  assertMatch(entry(header, "dkim"), /^dkim=temperror /);
  assertMatch(entry(header, "spf"), /^spf=temperror /);
  assertMatch(entry(header, "dmarc"), /^dmarc=temperror /);
});
