import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { createCertificate } from "../tls/self_signed.ts";
import { initHome } from "../home/init_home.ts";
import { captureConsole } from "./test_io.ts";
import { CONTROLS } from "../../config/controls.ts";
import { main } from "./showctl.ts";
import { writeAcmeState } from "../tls/acme_state.ts";

Deno.test("qmd showctl: values, defaults with me resolved, unknown files, JSON", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    Deno.writeTextFileSync(`${home}/control/databytes`, "10x\n");
    Deno.writeTextFileSync(`${home}/control/mystery`, "1\n");
    const text = await captureConsole(() => main(["--home", home]));
    assertEquals(text.result, 0);
    const out = text.out.join("\n");
    assertStringIncludes(out, "locals (list; send): ");
    assertStringIncludes(out, "\n  mail.example.com\n  localhost\n");
    assertStringIncludes(out, "bouncehost (line; send): ");
    assertStringIncludes(out, "(absent) default: me = mail.example.com");
    assertStringIncludes(out, "(absent) default: 10\n");
    assertStringIncludes(out, "(unusable) ");
    assertStringIncludes(out, "qmqpservers (list; nobody, not read yet)");
    assert(out.trimEnd().endsWith("  mystery"), out);

    const json = await captureConsole(() => main(["--home", home, "--json"]));
    const parsed = JSON.parse(json.out.join("\n"));
    assertEquals(parsed.controls.length, CONTROLS.length);
    assertEquals(parsed.unknown, ["mystery"]);
    const me = parsed.controls.find((c: { name: string }) => c.name === "me");
    assertEquals(me.value, "mail.example.com");

    const bad = await captureConsole(() => main(["--home", home, "--nope"]));
    assertEquals([bad.result, bad.err.length], [64, 1]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("qmd showctl: PEM files by subject, names, issuer and validity, never key material", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    const show = async () => {
      const run = await captureConsole(() => main(["--home", home]));
      assertEquals(run.result, 0);
      return run.out.join("\n");
    };
    const pem = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const base64Lines = pem.split("\n").filter((line) => /^[A-Za-z0-9+/=]{20,}$/.test(line));
    const out = await show();
    assert(!out.includes("-----BEGIN"), out);
    for (const line of base64Lines) assert(!out.includes(line), "no base64 of the key or cert");
    assertMatch(
      out,
      /\n {2}private key \(PRIVATE KEY\)\n {2}certificate 1: CN=mail\.example\.com; DNS:mail\.example\.com, DNS:localhost, IP Address:127\.0\.0\.1; self-signed; valid \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ to \d{4}-/,
    );

    // A CA-signed chain that has expired, and a key without its certificate.
    const ca = await createCertificate({ commonName: "Test CA", usage: "ca" });
    const leaf = await createCertificate({
      commonName: "mx.example.org",
      altNames: ["mx.example.org"],
      issuer: ca,
      now: new Date("2020-01-01T00:00:00Z"),
      days: 30,
    });
    Deno.writeTextFileSync(
      `${home}/control/servercert.pem`,
      leaf.keyPem + leaf.certPem + ca.certPem,
    );
    Deno.writeTextFileSync(`${home}/control/clientcert.pem`, leaf.keyPem);
    Deno.writeTextFileSync(`${home}/control/clientca.pem`, "-----BEGIN CERTIFICATE-----\n!!\n");
    const later = await show();
    assertStringIncludes(
      later,
      "  certificate 1: CN=mx.example.org; DNS:mx.example.org; issuer CN=Test CA; " +
        "valid 2019-12-31T23:00:00Z to 2020-01-31T00:00:00Z; EXPIRED\n" +
        "  certificate 2: CN=Test CA; no subjectAltName; self-signed;",
    );
    assertStringIncludes(
      later,
      `  (unusable) ${home}/control/clientcert.pem: no certificate in it\n` +
        "  private key (PRIVATE KEY)\n",
    );
    assertStringIncludes(later, `  (unusable) ${home}/control/clientca.pem: not a usable PEM file`);
    assert(!later.includes("-----BEGIN"), later);

    Deno.removeSync(`${home}/control/clientca.pem`);
    Deno.mkdirSync(`${home}/control/clientca.pem`);
    assertStringIncludes(await show(), `(unusable) ${home}/control/clientca.pem: is a directory`);

    const json = await captureConsole(() => main(["--home", home, "--json"]));
    const server = JSON.parse(json.out.join("\n")).controls.find((c: { name: string }) =>
      c.name === "servercert.pem"
    );
    assertEquals(server.certificates[0].subject, "CN=mx.example.org");
    assertEquals(server.certificates[0].expired, true);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("qmd showctl: with control/acme, the renewer's last attempt and next renewal", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    const show = async (json = false) => {
      const run = await captureConsole(() => main(["--home", home, ...(json ? ["--json"] : [])]));
      assertEquals(run.result, 0);
      return run.out.join("\n");
    };
    assert(!(await show()).includes("ACME ("), "no ACME section without control/acme");
    Deno.writeTextFileSync(`${home}/control/acme`, "contact mailto:postmaster@mail.example.com\n");
    assertStringIncludes(
      await show(),
      `\nACME (control/acme, ${home}/acme/state.json):\n  no attempt yet`,
    );
    await writeAcmeState(home, {
      failures: 2,
      lastAttempt: "2026-12-03T07:00:00.000Z",
      lastOutcome: "failed",
      lastError: "urn:ietf:params:acme:error:connection: Connection refused",
      lastFailure: "2026-12-03T07:00:00.000Z",
      names: ["mail.example.com"],
      nextOrder: "2026-12-03T09:00:00.000Z",
      nextCheck: "2026-12-03T09:00:00.000Z",
      reason: "the certificate is self-signed; retrying after 2 failed attempts",
    });
    assertStringIncludes(
      await show(),
      "  names: mail.example.com\n" +
        "  last attempt: 2026-12-03T07:00:00.000Z failed (2 in a row): " +
        "urn:ietf:params:acme:error:connection: Connection refused\n" +
        "  next renewal: 2026-12-03T09:00:00.000Z " +
        "(the certificate is self-signed; retrying after 2 failed attempts)\n" +
        "  next check: 2026-12-03T09:00:00.000Z",
    );
    assertEquals(JSON.parse(await show(true)).acme.failures, 2);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
