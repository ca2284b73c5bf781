/**
 * ACME against a real test CA: Debian's `pebble` (RFC 8555), when it is
 * installed (`apt-get install pebble`); skipped with a printed reason when
 * it is not.
 *
 * pebble resolves the certificate's name through our fake DNS on loopback
 * (mail.example.test → 127.0.0.1) and validates HTTP-01 for real against
 * the acme isolate's responder on a loopback port (pebble's httpPort). Then:
 * every TLS listener (SMTPS and POP3S, several isolates) serves the issued
 * certificate; a renewal 29 days before expiry (the renewer's clock moved
 * on) replaces it in every listener, through the supervisor's hot reload,
 * while an open session stays up; a failed validation keeps it.
 */
import tls from "node:tls";
import { assert, assertEquals } from "./assert.ts";
import { collectOutput, makeInitedHome, startQmd, waitFor } from "./harness.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";
import { freePort } from "../appliance/net/free_port.ts";
import { createCertificate } from "../appliance/tls/self_signed.ts";
import { AcmeRenewer, servedCertificate } from "../appliance/tls/acme_renewer.ts";
import { acmeOrderer } from "../appliance/tls/acme_order.ts";
import { accountKeyPath, readAcmeState } from "../appliance/tls/acme_state.ts";
import { DAY_MS } from "../appliance/tls/acme_schedule.ts";
import { loadAcmeControls } from "../config/acme.ts";
import { setLogSink } from "../appliance/log.ts";

const NAME = "mail.example.test";

function pebbleInstalled(): string | undefined {
  try {
    const result = new Deno.Command("pebble", { args: ["-h"], stdout: "null", stderr: "null" })
      .outputSync();
    return result.success || result.code === 2 ? undefined : `pebble -h exited ${result.code}`;
  } catch (error) {
    return `pebble is not installed (${(error as Error).name}); apt-get install pebble to run it`;
  }
}

const missing = pebbleInstalled();
if (missing !== undefined) console.log(`acme_pebble_test: skipped: ${missing}`);

interface Pebble {
  directory: string;
  caFile: string;
  stop(): Promise<void>;
}

/** pebble on loopback with its own HTTPS certificate, validating HTTP-01 on `httpPort`. */
async function startPebble(dir: string, dnsPort: number, httpPort: number): Promise<Pebble> {
  const ca = await createCertificate({ commonName: "pebble test root", usage: "ca" });
  const server = await createCertificate({
    commonName: "localhost",
    altNames: ["127.0.0.1"],
    issuer: ca,
  });
  Deno.writeTextFileSync(`${dir}/ca.pem`, ca.certPem);
  Deno.writeTextFileSync(`${dir}/cert.pem`, server.certPem);
  Deno.writeTextFileSync(`${dir}/key.pem`, server.keyPem);
  const port = await freePort("127.0.0.1");
  const management = await freePort("127.0.0.1");
  Deno.writeTextFileSync(
    `${dir}/pebble.json`,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: `${dir}/cert.pem`,
        privateKey: `${dir}/key.pem`,
        httpPort,
        tlsPort: await freePort("127.0.0.1"),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child = new Deno.Command("pebble", {
    args: ["-config", `${dir}/pebble.json`, "-dnsserver", `127.0.0.1:${dnsPort}`],
    // No random sleeps before validating, no rejected nonces, a fresh authorization each order.
    env: { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text: output, done } = collectOutput(child);
  await waitFor(() => output().includes("ACME directory available"), 20_000, output);
  return {
    directory: `https://127.0.0.1:${port}/dir`,
    caFile: `${dir}/ca.pem`,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await done;
    },
  };
}

/** The certificate a TLS listener serves: its serial and its issuer's CN. */
function servedBy(port: number): Promise<{ serial: string; issuer: string; names: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      servername: NAME,
      rejectUnauthorized: false,
    });
    socket.once("secureConnect", () => {
      const certificate = socket.getPeerCertificate();
      socket.destroy();
      resolve({
        serial: certificate.serialNumber,
        issuer: String(certificate.issuer?.CN ?? ""),
        names: certificate.subjectaltname ?? "",
      });
    });
    socket.once("error", reject);
  });
}

/** Asks each listener `tries` times (new connections are spread over the isolates). */
async function servedByAll(ports: number[], tries = 6): Promise<Set<string>> {
  const serials = new Set<string>();
  for (const port of ports) {
    for (let i = 0; i < tries; i++) serials.add((await servedBy(port)).serial);
  }
  return serials;
}

Deno.test({
  name:
    "acme: pebble issues over real HTTP-01; every listener serves it; renewal; a failure keeps it",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "qmd-pebble-" });
    const dns = await startFakeDns({ [NAME]: { a: ["127.0.0.1"] } });
    const httpPort = await freePort("127.0.0.1");
    const pebble = await startPebble(dir, dns.port, httpPort);
    const home = await makeInitedHome({}, NAME);
    Deno.writeTextFileSync(
      `${home}/control/acme`,
      [
        "# pebble on loopback",
        `directory ${pebble.directory}`,
        "contact mailto:postmaster@example.test",
        `http 127.0.0.1:${httpPort}`,
        `ca ${pebble.caFile}`,
      ].join("\n") + "\n",
    );
    const qmd = await startQmd(home, { workers: 2 });
    try {
      const ports = [qmd.smtpsPort, qmd.pop3sPort];
      // The acme isolate orders at start (the init certificate is self-signed).
      await waitFor(
        () => /acme: certificate for mail\.example\.test installed/.test(qmd.output()),
        60_000,
        () => `the first certificate:\n${qmd.output()}`,
      );
      const issued = servedCertificate(home)!;
      assertEquals(issued.selfSigned, false);
      assertEquals(issued.names, [NAME]);
      assertEquals(Deno.statSync(`${home}/control/servercert.pem`).mode! & 0o777, 0o600);
      // Every listener, every isolate: the new certificate, within the watch's second.
      const first = await waitFor(
        async () => {
          const seen = await servedBy(qmd.smtpsPort);
          return seen.issuer.startsWith("Pebble") ? seen : undefined;
        },
        10_000,
        () => "the SMTPS listener to serve pebble's certificate",
      );
      assertEquals(first.names, `DNS:${NAME}`);
      assertEquals(await servedByAll(ports), new Set([first.serial]));
      assertEquals(readAcmeState(home)?.lastOutcome, "issued");

      // A session open across the renewal stays up.
      const open = tls.connect({
        host: "127.0.0.1",
        port: qmd.smtpsPort,
        rejectUnauthorized: false,
      });
      await new Promise((resolve) => open.once("data", resolve));

      // Renewal: 29 days before expiry the renewer orders again (HTTP-01 again: PEBBLE_AUTHZREUSE=0
      // leaves pebble reusing the account's valid authorization 1% of the time, which passes too).
      setLogSink(() => {}, "test");
      const controls = loadAcmeControls(home)!;
      const renewDue = new Date(issued.notAfter.getTime() - 29 * DAY_MS);
      // The acme isolate is idle until tomorrow; the responder's port is free for this renewer.
      const renewer = new AcmeRenewer({ home, order: acmeOrderer(home), now: () => renewDue });
      await renewer.check(controls);
      assertEquals(readAcmeState(home)?.lastOutcome, "issued", readAcmeState(home)?.lastError);
      const renewed = await waitFor(
        async () => {
          const seen = await servedBy(qmd.smtpsPort);
          return seen.serial !== first.serial ? seen : undefined;
        },
        10_000,
        () => "the renewed certificate",
      );
      assertEquals(await servedByAll(ports), new Set([renewed.serial]));
      open.write("NOOP\r\n");
      const reply = await new Promise<string>((resolve) =>
        open.once("data", (d) => resolve(String(d)))
      );
      assert(reply.startsWith("250"), reply);
      open.destroy();

      // Failure: port 80 unreachable (pebble finds nothing on httpPort, our responder listens
      // elsewhere): the authorization is invalid, the certificate in force stays, and the next
      // attempt waits an hour.
      // A new account: pebble reuses an account's valid authorization when rand.Intn(100) >
      // PEBBLE_AUTHZREUSE, so 1% of the time even at 0, and the order would then succeed.
      Deno.removeSync(accountKeyPath(home));
      const installed = Deno.readTextFileSync(`${home}/control/servercert.pem`);
      const later = new Date(renewDue.getTime() + 40 * DAY_MS);
      const failing = new AcmeRenewer({ home, order: acmeOrderer(home), now: () => later });
      const unreachable = { host: "127.0.0.1", port: await freePort("127.0.0.1") };
      const next = await failing.check({ ...controls, http: unreachable });
      assertEquals(next.getTime() - later.getTime(), 60 * 60 * 1000);
      const state = readAcmeState(home)!;
      assertEquals([state.lastOutcome, state.failures], ["failed", 1]);
      assert(/connection refused|invalid/i.test(state.lastError ?? ""), state.lastError);
      assertEquals(Deno.readTextFileSync(`${home}/control/servercert.pem`), installed);
      assertEquals(await servedByAll(ports, 2), new Set([renewed.serial]));
    } finally {
      await qmd.stop();
      await pebble.stop();
      await dns.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
