/**
 * The DNS-based checks (rbl, helodnschk, antispoofing, spf, mfcheck) through
 * the real SMTP session and connection driver (tests/transcript_run.ts),
 * registered as appliance/policy/dns_checks.ts registers them, with their
 * lookups run by the real runners against a fake DNS server on loopback
 * (and a fake MX for mfcheck 2's callback): each check, each environment
 * switch, DNS timeouts failing open or closed as the seeds say, rblsmtpd's
 * conversation, and the decision trace.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { parseTranscript } from "./transcript.ts";
import { runTranscriptInMemory, type TranscriptFilterHooks } from "./transcript_run.ts";
import { type FakeDns, type FakeZone, startFakeDns } from "./fakes/fake_dns.ts";
import { type FakeMx, startFakeMx } from "./fakes/fake_mx.ts";
import type { SessionTrace } from "../appliance/filters/filter.ts";
import type { LogRecord } from "../appliance/log.ts";
import { Resolver } from "../appliance/dns/resolver.ts";
import { type LookupRunners, runDnsLookup } from "../appliance/net/filter_lookups.ts";
import { runSpfLookup } from "../appliance/net/spf_lookup.ts";
import { runCallbackLookup } from "../appliance/net/callback_lookup.ts";
import {
  ANTISPOOFING_MODULE,
  HELO_DNS_MODULE,
  MFCHECK_MODULE,
  RBL_MODULE,
  SPF_MODULE,
} from "../appliance/policy/dns_checks.ts";

/** The transcripts' client is 192.0.2.1 (tests/transcript.ts's default `@ remote`). */
const ZONE: FakeZone = {
  // DNSBLs: a TXT list, an A list with a fixed text, an anti-list, one that never answers.
  "1.2.0.192.bl.example": { txt: ["Listed: see http://bl.example/?192.0.2.1"], a: ["127.0.0.2"] },
  "1.2.0.192.abl.example": { a: ["127.0.0.4"] },
  "1.2.0.192.err.example": { a: ["127.255.255.254"] },
  "1.2.0.192.white.example": { a: ["127.0.0.2"] },
  "1.2.0.192.slow.example": { drop: true },
  // HELO names.
  "client.example": { a: ["192.0.2.1"] },
  "v6.example": { aaaa: ["2001:db8::1"] },
  "broken-helo.example": { servfail: true },
  // Sender domains: SPF records, MX and A records.
  "spf-pass.example": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"], a: ["192.0.2.9"] },
  "spf-fail.example": { txt: ["v=spf1 ip4:198.51.100.0/24 -all"], a: ["198.51.100.1"] },
  "spf-slow.example": { drop: true },
  "sender.example": { mx: [{ preference: 10, exchange: "mx.sender.example" }] },
  "mx.sender.example": { a: ["127.0.0.1"] },
  "a-only.example": { a: ["192.0.2.50"] },
  "empty.example": {},
  "dns-broken.example": { servfail: true },
  "englishforum.example": { mx: [{ preference: 10, exchange: "localhost.dreamhost.example" }] },
  "localhost.dreamhost.example": { a: ["127.0.0.1"] },
};

interface World {
  dns: FakeDns;
  mx: FakeMx;
  runners: LookupRunners;
}

async function withWorld(body: (world: World) => Promise<void>): Promise<void> {
  const dns = await startFakeDns(ZONE);
  const mx = await startFakeMx({
    rcpt: (address) =>
      address.startsWith("ghost@")
        ? { code: 550, text: "This account doesn't exist" }
        : address.startsWith("grey@")
        ? { code: 451, text: "greylisted, try later" }
        : undefined,
  });
  const resolver = new Resolver({
    nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
    // Long enough for a loopback answer on a machine busy with the whole suite (0.3 s was not,
    // once); the queries the fake drops on purpose wait for it.
    timeoutSeconds: 2,
    attempts: 1,
  });
  const runners: LookupRunners = {
    dns: (lookup, context) => runDnsLookup(lookup, { ...context, resolver }),
    spf: (lookup) => runSpfLookup(lookup, { resolver, mta: "mx.example.net" }),
    callback: (lookup) =>
      runCallbackLookup(lookup, { resolver, helo: "mx.example.net", port: mx.port }),
  };
  try {
    await body({ dns, mx, runners });
  } finally {
    await mx.close();
    await dns.close();
  }
}

const MODULES = [RBL_MODULE, HELO_DNS_MODULE, ANTISPOOFING_MODULE, SPF_MODULE, MFCHECK_MODULE];

interface Played {
  traces: SessionTrace[];
  logs: string[];
  queued: number;
  run: Awaited<ReturnType<typeof runTranscriptInMemory>>;
}

async function play(world: World, name: string, text: string): Promise<Played> {
  const traces: SessionTrace[] = [];
  const logs: string[] = [];
  const hooks: TranscriptFilterHooks = {
    filterModules: MODULES,
    lookupRunners: world.runners,
    onTrace: (trace) => traces.push(trace),
    onLog: (record: LogRecord) => logs.push(record.text),
  };
  const run = await runTranscriptInMemory(parseTranscript(text), name, hooks);
  return { traces, logs, queued: run.queued.length, run };
}

const GREETING = "S: 220 mx.example.net ESMTP\n";
const HELO = "C: HELO client.example\nS: 250 mx.example.net\n";
const QUIT = "C: QUIT\nS: 221 2.0.0 mx.example.net\n";

/** The first queued message as text, the header lines and Received line included. */
function queuedText(played: Played): string {
  const message = played.run.queued[0];
  return message.received + new TextDecoder().decode(message.body);
}

function decisions(played: Played): string[] {
  return played.traces.flatMap((trace) =>
    trace.decisions.map((d) =>
      `${d.phase} ${d.check} ${d.verdict}${d.rule?.entry ? ` ${d.rule.entry}` : ""}`
    )
  );
}

// --- rbl ------------------------------------------------------------------------------------------

Deno.test("dns transcript rbl: a TXT-listed client gets rblsmtpd's conversation with the TXT text", async () => {
  await withWorld(async (world) => {
    const played = await play(
      world,
      "rbl-txt",
      `@ control rblsmtpd -r bl.example
@ rcpthosts example.net
S: 220 rblsmtpd.local
C: HELO client.example
S: 250 rblsmtpd.local
C: MAIL FROM:<a@example.org>
S: 250 rblsmtpd.local
C: RCPT TO:<b@example.net>
S: 451 Listed: see http://bl.example/?192.0.2.1
C: QUIT
S: 221 rblsmtpd.local
S! closed
`,
    );
    assertEquals(played.queued, 0);
    assertEquals(played.logs.filter((line) => line.includes("rblsmtpd: 192.0.2.1")).length, 1);
    assertMatch(
      played.logs.find((line) => line.includes("rblsmtpd: 192.0.2.1")) ?? "",
      /rblsmtpd: 192\.0\.2\.1: 451 Listed: see http:\/\/bl\.example\/\?192\.0\.2\.1$/,
    );
    assertEquals(decisions(played), [
      "connect rbl lookup",
      "connect rbl refuse -r bl.example",
    ]);
  });
});

Deno.test("dns transcript rbl: seed 000's run file, -r zone:text with -b; the anti-list first", async () => {
  await withWorld(async (world) => {
    await play(
      world,
      "rbl-a",
      `@ control rblsmtpd -C -t 10 -b
@ control rblsmtpd -r "err.example:never: error codes are no listing"
@ control rblsmtpd -r "abl.example:Sorry. You are listed in abl.example ..."
S: 220 rblsmtpd.local
C: MAIL FROM:<a@example.org>
S: 250 rblsmtpd.local
C: RCPT TO:<b@example.net>
S: 553 Sorry. You are listed in abl.example ...
C: QUIT
S: 221 rblsmtpd.local
`,
    );
    const white = await play(
      world,
      "rbl-anti",
      `@ control rblsmtpd -a white.example -r bl.example
${GREETING}${HELO}${QUIT}`,
    );
    // The anti-list decides first: bl.example is never asked.
    assertEquals(decisions(white), ["connect rbl lookup", "connect rbl pass"]);
    assertEquals(world.dns.queries.some((q) => q.name === "1.2.0.192.bl.example"), false);
  });
});

Deno.test("dns transcript rbl: RBLSMTPD empty passes, text 451, -text 553, without a lookup", async () => {
  await withWorld(async (world) => {
    const before = world.dns.queries.length;
    await play(
      world,
      "rbl-env-empty",
      `@ control rblsmtpd -r bl.example
@ env RBLSMTPD=""
${GREETING}${HELO}${QUIT}`,
    );
    await play(
      world,
      "rbl-env-451",
      `@ env RBLSMTPD=halt thy spam!
S: 220 rblsmtpd.local
C: MAIL FROM:<a@example.org>
S: 250 rblsmtpd.local
C: RCPT TO:<b@example.net>
S: 451 halt thy spam!
C: QUIT
S: 221 rblsmtpd.local
`,
    );
    await play(
      world,
      "rbl-env-553",
      `@ control rblsmtpd -r bl.example
@ env RBLSMTPD=-halt thy spam!
S: 220 rblsmtpd.local
C: RCPT TO:<a@example.net>
S: 553 halt thy spam!
C: QUIT
S: 221 rblsmtpd.local
`,
    );
    assertEquals(world.dns.queries.length, before);
  });
});

Deno.test("dns transcript rbl: a DNSBL that does not answer fails open with -C, closed with -c", async () => {
  await withWorld(async (world) => {
    await play(
      world,
      "rbl-open",
      `@ control rblsmtpd -C -t 1 -r slow.example
${GREETING}${HELO}${QUIT}`,
    );
    await play(
      world,
      "rbl-closed",
      `@ control rblsmtpd -c -b -t 1 -r slow.example
S: 220 rblsmtpd.local
C: DATA
S: 451 temporary RBL lookup error
C: QUIT
S: 221 rblsmtpd.local
`,
    );
  });
});

Deno.test("dns transcript rbl: -e ADDRESS takes a listed client's mail for the spam trap", async () => {
  await withWorld(async (world) => {
    const played = await play(
      world,
      "rbl-spamcatcher",
      `@ control rblsmtpd -e spamtrap@example.net -C -t 10 -r bl.example
@ rcpthosts example.net
${GREETING}${HELO}C: MAIL FROM:<b208405@netian.example>
S: 250 2.1.0 welcome spammer :)
C: RCPT TO:<fnlee11@example.net>
S: 250 2.1.5 I feed spamassassin now!
C: DATA
S: 354 go ahead
C: Subject: buy
C:
C: now
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp \\d+$
E: Fb208405@netian.example
E: Tspamtrap@example.net
${QUIT}`,
    );
    assertEquals(played.queued, 1);
    assert(decisions(played).includes("connect rbl blacklist -r bl.example"));
    // A client the list does not name is served as usual.
    const clean = await play(
      world,
      "rbl-spamcatcher-clean",
      `@ control rblsmtpd -e spamtrap@example.net -C -t 10 -r bl.example
@ rcpthosts example.net
@ remote 192.0.2.2
${GREETING}${HELO}C: MAIL FROM:<friend@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<fnlee11@example.net>
S: 250 2.1.5 ok
${QUIT}`,
    );
    assertEquals(decisions(clean), ["connect rbl lookup", "connect rbl pass"]);
  });
});

// --- helodnschk -----------------------------------------------------------------------------------

Deno.test("dns transcript helodnschk: ext resolves the HELO host (A or AAAA); 553 if none, 451 on DNS trouble", async () => {
  await withWorld(async (world) => {
    await play(
      world,
      "helodnschk",
      `@ control helodnschkext 1
${GREETING}C: HELO nowhere.example
S: 553 sorry, your HELO/EHLO host name does not resolve (#5.7.1)
C: HELO broken-helo.example
S: 451 DNS temporary failure (#4.3.0)
C: HELO v6.example
S: 250 mx.example.net
${QUIT}`,
    );
    // HELODNSCHKEXT=0 turns it off for this client; RELAYCLIENT clients are helodnschkint's.
    await play(
      world,
      "helodnschk-off",
      `@ control helodnschkext 1
@ env HELODNSCHKEXT=0
${GREETING}C: HELO nowhere.example
S: 250 mx.example.net
${QUIT}`,
    );
    await play(
      world,
      "helodnschk-relay",
      `@ control helodnschkext 1
@ relayclient ""
${GREETING}C: HELO nowhere.example
S: 250 mx.example.net
${QUIT}`,
    );
  });
});

// --- antispoofing ---------------------------------------------------------------------------------

Deno.test("dns transcript antispoofing: a listed sender only from its networks; NOANTISPOOFING", async () => {
  await withWorld(async (world) => {
    const played = await play(
      world,
      "antispoofing",
      `@ control antispoofing example.net: 10.0.0.0/255.0.0.0
@ control antispoofing boss@example.org: 192.0.2.0/255.255.255.0
${GREETING}${HELO}C: MAIL FROM:<me@example.net>
S: 553 sorry, this sender is not allowed from your IP address (#5.7.1)
C: MAIL FROM:<boss@example.org>
S: 250 2.1.0 ok
${QUIT}`,
    );
    const refusal = played.traces[0].decisions.find((d) => d.verdict === "refuse");
    assertEquals(refusal?.rule, {
      check: "antispoofing",
      source: "control/antispoofing",
      line: 1,
      entry: "example.net: 10.0.0.0/255.0.0.0",
    });
    await play(
      world,
      "antispoofing-off",
      `@ control antispoofing example.net: 10.0.0.0/255.0.0.0
@ env NOANTISPOOFING=1
${GREETING}${HELO}C: MAIL FROM:<me@example.net>
S: 250 2.1.0 ok
${QUIT}`,
    );
  });
});

// --- spf ------------------------------------------------------------------------------------------

const SPF_MESSAGE = `C: DATA
S: 354 go ahead
C: Subject: hi
C:
C: hello
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp \\d+$
`;

Deno.test("dns transcript spf 1: a Received-SPF header, nothing refused", async () => {
  await withWorld(async (world) => {
    const played = await play(
      world,
      "spf-1",
      `@ control spfbehavior 1
@ rcpthosts example.net
${GREETING}${HELO}C: MAIL FROM:<a@spf-fail.example>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
${SPF_MESSAGE}${QUIT}`,
    );
    assertEquals(played.queued, 1);
    const header = queuedText(played);
    assertMatch(
      header,
      /^Received-SPF: fail \(mx\.example\.net: domain of a@spf-fail\.example does not designate 192\.0\.2\.1 as permitted sender\) client-ip=192\.0\.2\.1;/m,
    );
  });
});

Deno.test("dns transcript spf 3: fail refused with 550; SPFBEHAVIOR=0 exempts a client; pass gets its header", async () => {
  await withWorld(async (world) => {
    const played = await play(
      world,
      "spf-3",
      `@ control spfbehavior 3
@ rcpthosts example.net
${GREETING}${HELO}C: MAIL FROM:<a@spf-fail.example>
S: 550 mx.example.net: domain of a@spf-fail.example does not designate 192.0.2.1 as permitted sender (#5.7.1)
C: MAIL FROM:<a@spf-pass.example>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
${SPF_MESSAGE}${QUIT}`,
    );
    const text = queuedText(played);
    assertMatch(text, /^Received-SPF: pass /m);
    assert(!/Received-SPF: fail/.test(text), "the refused transaction's header is gone");
    await play(
      world,
      "spf-exempt",
      `@ control spfbehavior 3
@ env SPFBEHAVIOR=0
${GREETING}${HELO}C: MAIL FROM:<a@spf-fail.example>
S: 250 2.1.0 ok
${QUIT}`,
    );
  });
});

Deno.test("dns transcript spf: a DNS timeout is 451 from spfbehavior 2, only a header at 1", async () => {
  await withWorld(async (world) => {
    await play(
      world,
      "spf-2-timeout",
      `@ control spfbehavior 2
${GREETING}${HELO}C: MAIL FROM:<a@spf-slow.example>
S: 451 SPF lookup failure (#4.3.0)
${QUIT}`,
    );
    const played = await play(
      world,
      "spf-1-timeout",
      `@ control spfbehavior 1
@ rcpthosts example.net
${GREETING}${HELO}C: MAIL FROM:<a@spf-slow.example>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
${SPF_MESSAGE}${QUIT}`,
    );
    assertMatch(
      queuedText(played),
      /^Received-SPF: temperror/m,
    );
  });
});

// --- mfcheck --------------------------------------------------------------------------------------

Deno.test("dns transcript mfcheck 1: MX or A must exist; 553 for none, 451 on DNS trouble; <> unchecked", async () => {
  await withWorld(async (world) => {
    const played = await play(
      world,
      "mfcheck-1",
      `@ control mfcheck 1
${GREETING}${HELO}C: MAIL FROM:<a@nowhere.example>
S: 553 sorry, your envelope sender domain must exist (#5.7.1)
C: MAIL FROM:<a@empty.example>
S: 553 sorry, your envelope sender domain must exist (#5.7.1)
C: MAIL FROM:<a@dns-broken.example>
S: 451 DNS temporary failure (#4.3.0)
C: MAIL FROM:<a@a-only.example>
S: 250 2.1.0 ok
C: RSET
S: 250 2.0.0 flushed
C: MAIL FROM:<>
S: 250 2.1.0 ok
${QUIT}`,
    );
    const entries = played.traces[0].decisions.filter((d) => d.verdict === "refuse")
      .map((d) => d.rule?.entry ?? "");
    assertEquals(entries.slice(0, 2), ["MX nowhere.example: none", "AAAA empty.example: none"]);
    assertMatch(entries[2], /^MX dns-broken\.example: .*SERVFAIL/);
    await play(
      world,
      "mfcheck-env",
      `@ control mfcheck 1
@ env MFCHECK=0
${GREETING}${HELO}C: MAIL FROM:<a@nowhere.example>
S: 250 2.1.0 ok
${QUIT}`,
    );
  });
});

Deno.test("dns transcript mfcheck 2: the callback; 5xx refuses with seed 000's text, 4xx lets through", async () => {
  await withWorld(async (world) => {
    const played = await play(
      world,
      "mfcheck-2",
      `@ control mfcheck 2
${GREETING}${HELO}C: MAIL FROM:<ghost@sender.example>
S: 550 5.1.8 bad sender's mailbox address, RCPT TO:<ghost@sender.example> failed
C: MAIL FROM:<grey@sender.example>
S: 250 2.1.0 ok
C: RSET
S: 250 2.0.0 flushed
C: MAIL FROM:<joe@sender.example>
S: 250 2.1.0 ok
${QUIT}`,
    );
    assertEquals(world.mx.rcptTo, [
      "ghost@sender.example",
      "grey@sender.example",
      "joe@sender.example",
    ]);
    assertEquals(world.mx.mailFrom, ["", "", ""]);
    // Seed 000's BounceTest: line carries what the exchanger said.
    assert(
      played.logs.some((line) => line.endsWith("BounceTest: 550 This account doesn't exist")),
      played.logs.join("\n"),
    );
    // RELAYCLIENT clients get the DNS check only (seed 001).
    await play(
      world,
      "mfcheck-2-relay",
      `@ control mfcheck 2
@ relayclient ""
${GREETING}${HELO}C: MAIL FROM:<ghost@sender.example>
S: 250 2.1.0 ok
${QUIT}`,
    );
    assertEquals(world.mx.rcptTo.length, 3);
  });
});

Deno.test("dns transcript mxblacklist: a sender whose MX is only 127.0.0.1 (seed 000's englishforum.biz)", async () => {
  await withWorld(async (world) => {
    await play(
      world,
      "mxblacklist",
      `@ control mfcheck 2
@ control mxblacklist 127.0.0.1
${GREETING}C: helo friend
S: 250 mx.example.net
C: MAIL FROM:<john@englishforum.example>
S: 451 4.1.8 bad sender's system address, your mx is blacklisted!
${QUIT}`,
    );
    assertEquals(world.mx.rcptTo, []);
  });
});
