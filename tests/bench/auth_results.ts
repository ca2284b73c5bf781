/**
 * Issue 15's incoming part of `deno task bench`: what the
 * Authentication-Results verification (appliance/scan/auth_results_scan.ts)
 * costs per incoming message, figures, never assertions. Each case puts
 * messages through the scan as the DATA byte machine hands them over (LF
 * form, 64 KiB pieces) against a fake DNS zone on loopback, the resolver's
 * cache warm as on a busy MX: a 2 KiB message unsigned, signed with RSA
 * 2048, signed with Ed25519, ARC-sealed, and a 1 MiB RSA-signed one; then
 * the spool's extra pass (appliance/net/message_spool.ts) for the 1 MiB
 * message into a sink that keeps nothing. Every loop is bounded in count and
 * time. `deno run -A tests/bench/auth_results.ts` runs just this part.
 */
import { startFakeDns } from "../fakes/fake_dns.ts";
import { arcSealed, dkimSigned, KEYS, lfForm, mailAuthZone } from "../fakes/mail_auth.ts";
import { Resolver } from "../../appliance/dns/resolver.ts";
import { mailauthResolver, runSpfLookup } from "../../appliance/net/spf_lookup.ts";
import { beginAuthResultsScan } from "../../appliance/scan/auth_results_scan.ts";
import { SpooledMessage } from "../../appliance/net/message_spool.ts";
import type { Lookup, ScanContext } from "../../appliance/filters/filter.ts";

const COUNT = 200;
const LARGE_COUNT = 20;
const MAX_MS = 15_000;
const CHUNK = 64 * 1024;

const SMALL = "From: Alice <alice@example.org>\r\nTo: joe@example.net\r\nSubject: bench\r\n" +
  "Message-ID: <bench@example.org>\r\n\r\n" + `${"x".repeat(72)}\r\n`.repeat(27);
const LARGE = SMALL + `${"y".repeat(998)}\r\n`.repeat(1048);

async function timeScans(
  context: ScanContext,
  message: Uint8Array,
  count: number,
): Promise<{ count: number; ms: number }> {
  const controls = {
    enabled: true,
    loopback: true,
    authServId: "mx.bench.test",
    dmarcReject: false,
  };
  const request = {
    phase: "data" as const,
    remoteIp: "127.0.0.1",
    env: {},
    relaying: false,
    tls: false,
    helo: "client.example",
    sender: "alice@example.org",
    recipients: ["joe@example.net"],
    now: 0,
  };
  const silent = () => {};
  const started = performance.now();
  let done = 0;
  while (done < count && performance.now() - started < MAX_MS) {
    const scan = beginAuthResultsScan(controls, request, context, silent)!;
    for (let at = 0; at < message.length; at += CHUNK) {
      await scan.write(message.subarray(at, at + CHUNK));
    }
    await scan.finish();
    done++;
  }
  return { count: done, ms: performance.now() - started };
}

async function timeSpool(
  message: Uint8Array,
  count: number,
): Promise<{ count: number; ms: number }> {
  const directory = Deno.makeTempDirSync({ prefix: "qmd-bench-spool-" });
  const sink = {
    qp: "1",
    write: () => Promise.resolve(),
    commit: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
  const started = performance.now();
  let done = 0;
  try {
    while (done < count && performance.now() - started < MAX_MS) {
      const spool = SpooledMessage.open(directory, () => Promise.resolve(sink), new Uint8Array(0));
      for (let at = 0; at < message.length; at += CHUNK) {
        await spool.write(message.subarray(at, at + CHUNK));
      }
      spool.setEdit({ prepend: ["Authentication-Results: x; none"], drops: () => false });
      await spool.commit(new Uint8Array(0), [new Uint8Array(1)]);
      done++;
    }
  } finally {
    Deno.removeSync(directory, { recursive: true });
  }
  return { count: done, ms: performance.now() - started };
}

function row(name: string, result: { count: number; ms: number }): string {
  const each = result.count === 0 ? 0 : result.ms / result.count;
  return `auth results, ${name}: ${each.toFixed(2)} ms/message (${result.count} messages)`;
}

export async function authResultsBench(): Promise<string[]> {
  const dns = await startFakeDns(mailAuthZone());
  try {
    const resolver = new Resolver({
      nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
      timeoutSeconds: 2,
      attempts: 1,
    });
    const context: ScanContext = {
      resolve: mailauthResolver(resolver),
      lookup: (lookup) =>
        runSpfLookup(lookup as Lookup & { kind: "spf" }, { resolver, mta: "mx.bench.test" }),
    };
    const rsa = await dkimSigned(SMALL);
    const cases: [string, Uint8Array, number][] = [
      ["2 KiB unsigned", lfForm(SMALL), COUNT],
      ["2 KiB RSA-2048 signed", lfForm(rsa), COUNT],
      [
        "2 KiB Ed25519 signed",
        lfForm(await dkimSigned(SMALL, "example.org", "ed", KEYS.ed25519)),
        COUNT,
      ],
      [
        "2 KiB RSA signed and ARC-sealed",
        lfForm(await arcSealed(rsa, "list.example; dkim=pass")),
        COUNT,
      ],
      ["1 MiB RSA-2048 signed", lfForm(await dkimSigned(LARGE)), LARGE_COUNT],
    ];
    const rows: string[] = [];
    // Once through each, untimed: mailauth's import and the resolver's cache.
    for (const [, message] of cases) await timeScans(context, message, 1);
    for (const [name, message, count] of cases) {
      rows.push(row(name, await timeScans(context, message, count)));
    }
    rows.push(row("the spool's extra pass of 1 MiB", await timeSpool(lfForm(LARGE), LARGE_COUNT)));
    return rows;
  } finally {
    await dns.close();
  }
}

if (import.meta.main) {
  for (const line of await authResultsBench()) console.log(line);
}
