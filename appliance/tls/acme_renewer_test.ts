import { assert, assertEquals } from "../../tests/assert.ts";
import type { AcmeControls } from "../../config/acme.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { AcmeRenewer, servedCertificate } from "./acme_renewer.ts";
import type { IssuedCertificate } from "./acme_order.ts";
import { DAY_MS, HOUR_MS } from "./acme_schedule.ts";
import { readAcmeState } from "./acme_state.ts";
import { createCertificate, createSelfSignedCertificate } from "./self_signed.ts";

const CONTROLS: AcmeControls = {
  directory: "https://ca.example.test/dir",
  contacts: [],
  names: ["mail.example.test", "smtp.example.test"],
  http: { host: "127.0.0.1", port: 8080 },
  renewDays: 30,
};

const START = new Date("2026-12-03T06:00:00Z");

/** A fake CA: each order gives a 90-day certificate from `clock`'s time, or the failure set. */
async function fakeCa(clock: { now: Date }) {
  const ca = await createCertificate({ commonName: "Fake ACME CA", usage: "ca", now: START });
  const fake = {
    orders: 0,
    failWith: undefined as string | undefined,
    async order(controls: AcmeControls): Promise<IssuedCertificate> {
      fake.orders++;
      if (fake.failWith !== undefined) throw new Error(fake.failWith);
      const issued = await createCertificate({
        commonName: controls.names[0],
        altNames: controls.names.slice(1),
        days: 90,
        now: clock.now,
        issuer: ca,
      });
      return { keyPem: issued.keyPem, chainPem: issued.certPem + ca.certPem };
    },
  };
  return fake;
}

async function withHome(body: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-acme-renewer-" });
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "acme");
  try {
    Deno.mkdirSync(`${home}/control`);
    const self = await createSelfSignedCertificate({ commonName: "mail.example.test" });
    Deno.writeTextFileSync(`${home}/control/servercert.pem`, self.keyPem + self.certPem, {
      mode: 0o640,
    });
    Deno.chmodSync(`${home}/control/servercert.pem`, 0o640);
    await body(home);
  } finally {
    setLogSink(() => {}, "test");
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("acme renewer: a self-signed certificate is replaced, then renewed 30 days before expiry", async () => {
  await withHome(async (home) => {
    const clock = { now: START };
    const ca = await fakeCa(clock);
    const renewer = new AcmeRenewer({ home, order: ca.order, now: () => clock.now });

    // At start: self-signed, so an order now; the next look is a day later.
    const first = await renewer.check(CONTROLS);
    assertEquals(ca.orders, 1);
    assertEquals(first.getTime(), START.getTime() + DAY_MS);
    const served = servedCertificate(home)!;
    assertEquals(served.selfSigned, false);
    assertEquals(served.names, CONTROLS.names);
    assertEquals(served.notAfter.getTime(), START.getTime() + 90 * DAY_MS);
    // Replaced, its mode kept (the operator may have let a group read it).
    assertEquals(Deno.statSync(`${home}/control/servercert.pem`).mode! & 0o777, 0o640);
    const state = readAcmeState(home)!;
    assertEquals(state.lastOutcome, "issued");
    assertEquals(state.failures, 0);
    assertEquals(state.nextOrder, new Date(START.getTime() + 60 * DAY_MS).toISOString());

    // The daily looks until then order nothing.
    let next = first;
    for (let day = 0; day < 100 && ca.orders === 1; day++) {
      clock.now = next;
      next = await renewer.check(CONTROLS);
    }
    assertEquals(ca.orders, 2);
    assertEquals(clock.now.getTime(), START.getTime() + 60 * DAY_MS);
    assertEquals(servedCertificate(home)!.notAfter.getTime(), clock.now.getTime() + 90 * DAY_MS);
  });
});

Deno.test("acme renewer: a failed order keeps the certificate and retries after 1 h, 2 h, 4 h", async () => {
  await withHome(async (home) => {
    const clock = { now: START };
    const ca = await fakeCa(clock);
    const renewer = new AcmeRenewer({ home, order: ca.order, now: () => clock.now });
    await renewer.check(CONTROLS);
    const installed = Deno.readTextFileSync(`${home}/control/servercert.pem`);

    clock.now = new Date(START.getTime() + 61 * DAY_MS);
    ca.failWith = "urn:ietf:params:acme:error:connection: Connection refused";
    const waits: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const next = await renewer.check(CONTROLS);
      waits.push((next.getTime() - clock.now.getTime()) / HOUR_MS);
      clock.now = next;
    }
    assertEquals(waits, [1, 2, 4]);
    assertEquals(ca.orders, 4);
    assertEquals(Deno.readTextFileSync(`${home}/control/servercert.pem`), installed);
    const state = readAcmeState(home)!;
    assertEquals(state.failures, 3);
    assertEquals(state.lastOutcome, "failed");
    assert(state.lastError?.includes("Connection refused"), state.lastError);

    // The CA is back: the next attempt succeeds and the count starts again.
    ca.failWith = undefined;
    await renewer.check(CONTROLS);
    assertEquals(ca.orders, 5);
    assertEquals(readAcmeState(home)!.failures, 0);
    assert(Deno.readTextFileSync(`${home}/control/servercert.pem`) !== installed);
  });
});

Deno.test("acme renewer: a certificate for another key is refused and not installed", async () => {
  await withHome(async (home) => {
    const clock = { now: START };
    const ca = await fakeCa(clock);
    const before = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const other = await createSelfSignedCertificate({ commonName: "x.example.test" });
    const renewer = new AcmeRenewer({
      home,
      order: async (controls) => ({ ...(await ca.order(controls)), keyPem: other.keyPem }),
      now: () => clock.now,
    });
    const next = await renewer.check(CONTROLS);
    assertEquals(next.getTime(), START.getTime() + HOUR_MS);
    assertEquals(Deno.readTextFileSync(`${home}/control/servercert.pem`), before);
    assertEquals(
      readAcmeState(home)!.lastError,
      "the CA's certificate is not for the key of the request",
    );
  });
});
