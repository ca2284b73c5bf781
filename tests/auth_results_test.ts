/**
 * Authentication-Results through the real connection driver (in memory,
 * real filter checks and the real authres content module, a fake DNS zone
 * on loopback): the header first in the queued message above Received-SPF
 * and the Received line, a forged header with our authserv-id removed and a
 * foreign one kept, the spf check's answer reused (SPF asked once), DMARC
 * p=reject refused with dmarcreject, the trace and the log line, nothing
 * left in the spool directory, and relay clients left alone.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { parseTranscript } from "./transcript.ts";
import { runTranscriptInMemory, type TranscriptRun } from "./transcript_run.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";
import { dkimSigned, mailAuthZone } from "./fakes/mail_auth.ts";
import { Resolver } from "../appliance/dns/resolver.ts";
import { CONTENT_MODULES } from "../appliance/policy/content_modules.ts";
import { LOOKUP_RUNNERS } from "../appliance/net/filter_lookups.ts";
import type { Decision, SessionTrace } from "../appliance/filters/filter.ts";
import type { LogRecord } from "../appliance/log.ts";

const AUTHRES = CONTENT_MODULES.filter((module) => module.name === "authres");

interface Played {
  run: TranscriptRun;
  spfAsked: number;
  decisions: Decision[];
  logs: string[];
  spoolLeft: string[];
}

async function play(name: string, text: string): Promise<Played> {
  const dns = await startFakeDns(mailAuthZone());
  const spool = Deno.makeTempDirSync({ prefix: "qmd-authres-spool-" });
  let spfAsked = 0;
  const traces: SessionTrace[] = [];
  const logs: string[] = [];
  try {
    const run = await runTranscriptInMemory(parseTranscript(text), name, {
      contentModules: AUTHRES,
      lookups: {
        resolver: new Resolver({
          nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
          timeoutSeconds: 2,
          attempts: 1,
        }),
      },
      lookupRunners: {
        ...LOOKUP_RUNNERS,
        spf: (lookup, context) => {
          spfAsked++;
          return LOOKUP_RUNNERS.spf!(lookup, context);
        },
      },
      spoolDirectory: spool,
      onTrace: (trace) => traces.push(trace),
      onLog: (record: LogRecord) => logs.push(record.text),
    });
    const spoolLeft = [...Deno.readDirSync(spool)].map((entry) => entry.name);
    return {
      run,
      spfAsked,
      decisions: traces.flatMap((trace) => trace.decisions),
      logs,
      spoolLeft,
    };
  } finally {
    await dns.close();
    Deno.removeSync(spool, { recursive: true });
  }
}

const MESSAGE = "From: Alice <alice@example.org>\r\nTo: joe@example.net\r\n" +
  "Authentication-Results: mx.qmd.test; dkim=pass header.d=bank.example; dmarc=pass\r\n" +
  "Subject: hello\r\n" +
  "Authentication-Results: relay.other.example;\r\n spf=pass smtp.mailfrom=alice@example.org\r\n" +
  "authentication-results: (forged)\r\n  mx.qmd.test; spf=pass\r\n" +
  "\r\nHello Joe.\r\n.leading dot\r\n";

function session(setup: string, sender: string, data: string, reply: string): string {
  return `@ rcpthosts example.net
@ remote 127.0.0.1
@ control authresults 1
@ control authservid mx.qmd.test
${setup}S: 220 mx.example.net ESMTP
C: HELO client.example
S: 250 mx.example.net
C: MAIL FROM:<${sender}>
S: 250 2.1.0 ok
C: RCPT TO:<joe@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C! ${JSON.stringify(`${data.replace(/^\./gm, "..")}.\r\n`)}
${reply}
C: QUIT
S~ ^221
`;
}

function queuedText(run: TranscriptRun): string {
  const [message] = run.queued;
  let body = "";
  for (const byte of message.body) body += String.fromCharCode(byte);
  return message.received + body;
}

Deno.test("auth results: the header goes first, forged ones go, SPF is asked once", async () => {
  const signed = await dkimSigned(MESSAGE);
  const played = await play(
    "authres",
    session("@ control spfbehavior 1\n", "alice@example.org", signed, "S~ ^250 2\\.6\\.0 ok"),
  );
  assertEquals(played.spfAsked, 1, "the spf check's answer is the one reported");
  const text = queuedText(played.run);
  const lines = text.split("\n");
  assertEquals(lines[0], "Authentication-Results: mx.qmd.test;");
  assertMatch(lines[1], /^ dkim=pass header\.i=@example\.org header\.s=sel /);
  assertMatch(lines[2], /^ spf=pass \(\S+: domain of alice@example\.org designates/);
  assertEquals(lines[3], " arc=none;");
  assertMatch(lines[4], /^ dmarc=pass \(p=REJECT arc=none\) header\.from=example\.org/);
  assertMatch(lines[5], /^Received-SPF: pass /);
  assertMatch(lines[6], /^Received: from unknown \(HELO client\.example\) \(127\.0\.0\.1\)$/);
  assert(lines[8].startsWith("DKIM-Signature: "), lines[8]);
  const client = text.slice(text.indexOf("DKIM-Signature: "));
  assertEquals(
    client.slice(client.indexOf("\nFrom: ") + 1),
    "From: Alice <alice@example.org>\nTo: joe@example.net\nSubject: hello\n" +
      "Authentication-Results: relay.other.example;\n spf=pass smtp.mailfrom=alice@example.org\n" +
      "\nHello Joe.\n.leading dot\n",
  );
  const authres = played.decisions.filter((decision) => decision.check === "authres");
  assertEquals(authres.map(({ verdict, log }) => ({ verdict, log })), [
    { verdict: "pass", log: "dkim=pass spf=pass arc=none dmarc=pass" },
  ]);
  assert(
    played.logs.includes("smtpd authres: auth results: dkim=pass spf=pass arc=none dmarc=pass"),
    played.logs.join("\n"),
  );
  assertEquals(played.spoolLeft, []);
});

Deno.test("auth results: DMARC p=reject is refused with dmarcreject, nothing queued", async () => {
  const forged =
    "From: Bank <alerts@example.org>\r\nTo: joe@example.net\r\nSubject: pay\r\n\r\nPay.\r\n";
  const played = await play(
    "dmarc",
    session(
      "@ control dmarcreject 1\n",
      "x@spf-fail.example",
      forged,
      "S: 550 5.7.1 message refused: it fails the DMARC policy of example.org\n" +
        "L~ ^reject: END-OF-MESSAGE .*by dmarc \\(control/dmarcreject\\): example\\.org p=reject",
    ),
  );
  assertEquals(played.run.queued.length, 0);
  assertEquals(played.spfAsked, 1, "spfbehavior 0: the scan asks itself, once");
  const dmarc = played.decisions.filter((decision) => decision.check === "authres");
  assertEquals(dmarc.map(({ verdict, rule }) => ({ verdict, rule })), [{
    verdict: "refuse",
    rule: { check: "dmarc", source: "control/dmarcreject", entry: "example.org p=reject" },
  }]);
  assertEquals(played.spoolLeft, []);
});

Deno.test("auth results: a relay client's message is neither verified nor changed", async () => {
  const played = await play(
    "relay",
    session('@ relayclient ""\n', "alice@example.org", MESSAGE, "S~ ^250 2\\.6\\.0 ok"),
  );
  assertEquals(played.spfAsked, 0);
  const text = queuedText(played.run);
  assertMatch(text, /^Received: from unknown/);
  assert(text.includes("\nAuthentication-Results: mx.qmd.test; dkim=pass header.d=bank"), text);
});
