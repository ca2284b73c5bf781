/**
 * Outgoing DKIM end to end (issue 15): `qmd dkim add` makes an RSA and an
 * Ed25519 key, `qmd start`'s remote role signs a message from the domain as
 * it delivers it to a fake MX (nodemailer's smtp-server), and what the MX
 * received verifies with mailauth against the keys' records served by a fake
 * DNS zone on loopback. A message signed by our code also verifies with an
 * independent verifier, python3's dkim module (dkimpy), when it is installed.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { addUser, makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";
import { startFakeMx } from "./fakes/fake_mx.ts";
import { Resolver } from "../appliance/dns/resolver.ts";
import { mailauthResolver } from "../appliance/net/spf_lookup.ts";
import { loadDkimKeys } from "../config/dkim.ts";
import { dkimRecord } from "../appliance/remote/dkim_records.ts";
import { signMessage } from "../appliance/remote/dkim_sign.ts";
import { makeDkimKey, MemoryFile } from "../appliance/remote/test_dkim.ts";

const MESSAGE = "From: Joe <joe@example.test>\nTo: far@remote.example\nSubject: signed\n" +
  "Date: Thu, 3 Dec 2026 06:00:00 +0000\nMessage-ID: <e2e@example.test>\n\n" +
  ".a line with a dot\ntrailing space   \n\n";

/** The DKIM results mailauth gives for `message`, asking `resolver` for the keys. */
async function verifyWith(message: string, resolver: Resolver) {
  const { dkimVerify } = await import("mailauth/lib/dkim/verify.js");
  const verified = await dkimVerify(message, {
    resolver: mailauthResolver(resolver) as (name: string, type: string) => Promise<string[][]>,
  });
  // deno-lint-ignore no-explicit-any
  return verified.results.map((entry: any) => `${entry.selector} ${entry.status.result}`).sort();
}

Deno.test("dkim: the remote role signs mail from a domain with keys; the MX gets signatures that verify", async () => {
  const mx = await startFakeMx({ host: "127.0.0.4" });
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", "correct horse");
  const added = await runQmd(["dkim", "add", "example.test", "--selector", "rsa1", "--home", home]);
  assertEquals(added.code, 0, added.stderr);
  // An Ed25519 key published now, put in control/dkim/ once qmd runs (below).
  const edKey = makeDkimKey("example.test", "ed1", "ed25519");
  const records = [...loadDkimKeys(home), edKey].map(dkimRecord);
  const dns = await startFakeDns({
    "relay.isp.test": { a: ["127.0.0.4"] },
    ...Object.fromEntries(
      records.map((record) => [record.name, { txt: [record.text.match(/.{1,255}/g)!] }]),
    ),
  });
  Deno.writeTextFileSync(`${home}/control/dnsservers`, `127.0.0.1:${dns.port}\n`);
  Deno.writeTextFileSync(`${home}/control/smtproutes`, `:relay.isp.test:${mx.port}\n`);
  const qmd = await startQmd(home);
  try {
    // A key added while qmd runs: on SIGHUP the remote role reads the keys again.
    Deno.writeTextFileSync(`${home}/control/dkim/example.test/ed1.key`, edKey.privateKey);
    qmd.process.kill("SIGHUP");
    await waitFor(() => /reloaded control files/.test(qmd.output()) || undefined, 20_000);
    for (const [from, to] of [["joe@example.test", "far"], ["joe@elsewhere.test", "other"]]) {
      const sent = await runQmd(
        ["inject", "--home", home, "-f", "joe@example.test", `${to}@remote.example`],
        { stdin: MESSAGE.replace("joe@example.test>", `${from}>`) },
      );
      assertEquals(sent.code, 0, sent.stderr);
    }
    await waitFor(() => mx.messages.length >= 2 || undefined, 20_000, () => qmd.output());
    const byRecipient = (to: string) =>
      new TextDecoder().decode(mx.messages.find((m) => m.recipients[0].startsWith(to))!.body);
    const signed = byRecipient("far@");
    // Both keys sign, in front of the message as queued (its Received: line first after them).
    assertMatch(signed, /^DKIM-Signature: v=1; a=(rsa|ed25519)-sha256; c=relaxed\/relaxed;/);
    assertMatch(signed, /\r\nDKIM-Signature: v=1; a=(rsa|ed25519)-sha256; c=relaxed\/relaxed;/);
    assertMatch(signed, /\r\n [^\r]*\r\nReceived: \(qmail \d+ invoked by uid \d+\);/);
    assert(signed.includes("\r\n.a line with a dot\r\n"), "dot-stuffing undone by the MX");
    const resolver = new Resolver({ nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }] });
    assertEquals(await verifyWith(signed, resolver), ["ed1 pass", "rsa1 pass"]);
    // The check can fail: a changed body no longer verifies.
    assert(
      !(await verifyWith(signed.replace("trailing", "trialing"), resolver)).includes("rsa1 pass"),
    );
    // From: a domain we hold no key for: sent unsigned.
    assert(!byRecipient("other@").includes("DKIM-Signature:"));
  } finally {
    await qmd.stop();
    await mx.close();
    await dns.close();
  }
});

/** The first python3 (PATH's, then Debian's) with dkimpy and PyNaCl, or why there is none. */
function findPythonDkim(): { python: string } | { missing: string } {
  for (const python of ["python3", "/usr/bin/python3"]) {
    try {
      const probe = new Deno.Command(python, {
        args: ["-c", "import dkim, nacl"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (probe.success) return { python };
    } catch {
      // not installed there
    }
  }
  return {
    missing: "no python3 with the dkim and nacl modules (Debian: python3-dkim python3-nacl)",
  };
}

const PYTHON = findPythonDkim();
if ("missing" in PYTHON) console.log(`dkim python3 verification skipped: ${PYTHON.missing}`);

/** dkimpy verifies every signature of the message on stdin, with the TXT records in argv[1]. */
const VERIFY_PY = `
import dkim, json, sys
records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip("."), "").encode()
count = sum(1 for line in message.split(b"\\r\\n") if line.lower().startswith(b"dkim-signature:"))
d = dkim.DKIM(message)
def verify(i):
    try:
        return "pass" if d.verify(idx=i, dnsfunc=dnsfunc) else "fail"
    except dkim.ValidationError:
        return "fail"
print(" ".join(verify(i) for i in range(count)))
`;

Deno.test({
  name: "dkim: a message we sign verifies with python3's dkim module (when installed)",
  ignore: "missing" in PYTHON,
  async fn() {
    const keys = [
      makeDkimKey("example.test", "py1", "rsa"),
      makeDkimKey("example.test", "py2", "ed25519"),
    ];
    const zone = Object.fromEntries(
      keys.map(dkimRecord).map((record) => [record.name, record.text]),
    );
    const outcome = await signMessage(
      new MemoryFile(MESSAGE),
      "joe@example.test",
      keys,
      new Date(),
    );
    assert(outcome.kind === "signed");
    const signed = (new TextDecoder().decode(outcome.header) + MESSAGE).replace(/\n/g, "\r\n");
    const verify = async (message: string) => {
      const child = new Deno.Command((PYTHON as { python: string }).python, {
        args: ["-c", VERIFY_PY, JSON.stringify(zone)],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(message));
      await writer.close();
      const output = await child.output();
      assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
      return new TextDecoder().decode(output.stdout).trim();
    };
    assertEquals(await verify(signed), "pass pass");
    assertEquals(await verify(signed.replace("trailing", "trialing")), "fail fail");
  },
});
