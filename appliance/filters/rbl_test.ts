import { assert, assertEquals } from "../../tests/assert.ts";
import type { FilterRequest, Lookup, LookupAnswer, Verdict } from "./filter.ts";
import {
  formatRblsmtpdLog,
  isListingAddress,
  rblCheck,
  rblReply,
  type RblSettings,
  reversedIp,
} from "./rbl.ts";

const request: FilterRequest = {
  phase: "connect",
  remoteIp: "192.0.2.99",
  env: {},
  relaying: false,
  tls: false,
  recipients: [],
  now: 0,
};

function settings(extra: Partial<RblSettings> = {}): RblSettings {
  return {
    sources: [
      { kind: "anti", zone: "white.example", source: "control/rblsmtpd", line: 1 },
      { kind: "block", zone: "txt.example", source: "control/rblsmtpd", line: 2 },
      {
        kind: "block",
        zone: "a.example",
        text: "listed in a.example: %IP%",
        source: "control/rblsmtpd",
        line: 3,
      },
    ],
    bounce: false,
    failClosed: false,
    timeoutSeconds: 10,
    blacklist: false,
    ...extra,
  };
}

/** Runs the check, answering each lookup from `answers` (by "TYPE name"); the lookups asked. */
function run(
  s: RblSettings,
  answers: Record<string, LookupAnswer>,
  req: FilterRequest = request,
): { verdict: Verdict; asked: string[] } {
  const asked: string[] = [];
  let verdict = rblCheck.check(req, s);
  for (let i = 0; verdict.kind === "lookup" && i < 10; i++) {
    const lookup: Lookup = verdict.lookup;
    assert(lookup.kind === "dns");
    const key = `${lookup.type} ${lookup.name}`;
    asked.push(key);
    verdict = rblCheck.resume!(
      req,
      s,
      answers[key] ?? { kind: "dns", records: [], nxdomain: true },
      lookup,
    );
  }
  return { verdict, asked };
}

const ALL = [
  "A 99.2.0.192.white.example",
  "TXT 99.2.0.192.txt.example",
  "A 99.2.0.192.a.example",
];

Deno.test("rbl: names are reversed octets or IPv6 nibbles; mapped IPv4 is IPv4", () => {
  assertEquals(reversedIp("1.2.3.4"), "4.3.2.1");
  assertEquals(reversedIp("::ffff:1.2.3.4"), "4.3.2.1");
  assertEquals(
    reversedIp("2001:db8::1"),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2",
  );
  assertEquals(reversedIp("unknown"), undefined);
  assertEquals(reversedIp("1.2.3.256"), undefined);
});

Deno.test("rbl: not listed anywhere: every source asked in order, then pass", () => {
  const { verdict, asked } = run(settings(), {});
  assertEquals(verdict, { kind: "pass" });
  assertEquals(asked, ALL);
});

Deno.test("rbl: a TXT listing refuses with its text, 451, for the whole session with -t", () => {
  const { verdict, asked } = run(settings(), {
    "TXT 99.2.0.192.txt.example": {
      kind: "dns",
      records: ["Blocked, see ", "http://txt.example/"],
    },
  });
  assertEquals(asked, ALL.slice(0, 2));
  assertEquals(verdict, {
    kind: "refuse",
    reply: ["451 Blocked, see http://txt.example/"],
    rule: { check: "rbl", source: "control/rblsmtpd", line: 2, entry: "-r txt.example" },
    scope: "session",
    sessionSeconds: 10,
    log: "rblsmtpd: 192.0.2.99: 451 Blocked, see http://txt.example/",
  });
});

Deno.test("rbl: -r zone:text lists on an A record with the fixed text; -b gives 553; -t 0 closes", () => {
  const answers: Record<string, LookupAnswer> = {
    "A 99.2.0.192.a.example": { kind: "dns", records: ["127.0.0.2"] },
  };
  const { verdict } = run(settings({ bounce: true, timeoutSeconds: 0 }), answers);
  assertEquals(verdict, {
    kind: "refuse",
    reply: ["553 listed in a.example: 192.0.2.99"],
    rule: {
      check: "rbl",
      source: "control/rblsmtpd",
      line: 3,
      entry: "-r a.example:listed in a.example: %IP%",
    },
    close: true,
    scope: "session",
    log: "rblsmtpd: 192.0.2.99: 553 listed in a.example: 192.0.2.99",
  });
});

Deno.test("rbl: an anti-list hit passes before any list is asked", () => {
  const { verdict, asked } = run(settings(), {
    "A 99.2.0.192.white.example": { kind: "dns", records: ["127.0.0.2"] },
    "TXT 99.2.0.192.txt.example": { kind: "dns", records: ["listed"] },
  });
  assertEquals(verdict, { kind: "pass" });
  assertEquals(asked, ALL.slice(0, 1));
});

Deno.test("rbl: F1, error codes and non-loopback A answers are not listings", () => {
  assert(isListingAddress("127.0.0.2"));
  assert(isListingAddress("127.0.1.4"));
  for (const address of ["127.255.255.254", "127.255.255.252", "127.0.0.1", "10.0.0.2", "::1"]) {
    assert(!isListingAddress(address), address);
  }
  const { verdict } = run(settings(), {
    "A 99.2.0.192.a.example": { kind: "dns", records: ["127.255.255.254"] },
  });
  assertEquals(verdict.kind, "pass");
});

Deno.test("rbl: a DNS failure is not listed with -C (fail-open), blocks 451 with -c (fail-closed) even with -b", () => {
  const failing: Record<string, LookupAnswer> = {
    "A 99.2.0.192.white.example": { kind: "temporary", reason: "timed out" },
    "TXT 99.2.0.192.txt.example": { kind: "temporary", reason: "SERVFAIL" },
  };
  const open = run(settings(), failing);
  assertEquals(open.verdict.kind, "pass");
  assertEquals(open.asked, ALL);
  const closed = run(settings({ failClosed: true, bounce: true }), failing);
  assert(closed.verdict.kind === "refuse");
  assertEquals(closed.verdict.reply, ["451 temporary RBL lookup error"]);
  assertEquals(closed.verdict.rule.entry, "-a white.example (timed out)");
  assertEquals(closed.asked, ALL.slice(0, 1));
});

Deno.test("rbl: RBLSMTPD empty passes, text gives 451, -text 553, without any lookup", () => {
  assertEquals(rblCheck.check(request, { ...settings(), rblsmtpd: "" }), { kind: "pass" });
  const text = rblCheck.check(request, {
    ...settings({ bounce: true }),
    rblsmtpd: "halt thy spam!",
  });
  assert(text.kind === "refuse");
  assertEquals(text.reply, ["451 halt thy spam!"]);
  assertEquals(text.rule, { check: "rbl", source: "RBLSMTPD", entry: "halt thy spam!" });
  const bounce = rblCheck.check(request, { ...settings(), rblsmtpd: "-halt thy spam!" });
  assert(bounce.kind === "refuse");
  assertEquals(bounce.reply, ["553 halt thy spam!"]);
});

Deno.test("rbl: -e ADDRESS marks a listed client BLACKLISTED; -e without an address refuses", () => {
  const listed: Record<string, LookupAnswer> = {
    "TXT 99.2.0.192.txt.example": { kind: "dns", records: ["listed"] },
  };
  const caught = run(
    settings({ blacklist: true, blacklistTo: "spam@example.net" }),
    listed,
  );
  assertEquals(caught.verdict, {
    kind: "blacklist",
    rule: { check: "rbl", source: "control/rblsmtpd", line: 2, entry: "-r txt.example" },
    recipient: "spam@example.net",
  });
  const nowhere = run(settings({ blacklist: true }), listed);
  assertEquals(nowhere.verdict.kind, "refuse");
  const env = rblCheck.check(request, {
    ...settings({ blacklist: true, blacklistTo: "spam@example.net" }),
    rblsmtpd: "-go away",
  });
  assertEquals(env.kind, "blacklist");
});

Deno.test("rbl: the reply is cut to 200 characters with unprintable bytes as ?; the log line", () => {
  assertEquals(rblReply(451, "a\tb\u00e9"), "451 a?b?");
  assertEquals(rblReply(553, "x".repeat(300)).length, 204);
  assertEquals(
    formatRblsmtpdLog("192.0.2.99", "451 listed"),
    "rblsmtpd: 192.0.2.99: 451 listed",
  );
});

Deno.test("rbl: an address that is not one (unknown) asks nothing", () => {
  assertEquals(rblCheck.check({ ...request, remoteIp: "unknown" }, settings()), { kind: "pass" });
});
