import { assertEquals } from "../../tests/assert.ts";
import type { PatternList } from "./bm_patterns.ts";
import { badheloCheck, REPLY_BAD_HELO } from "./badhelo.ts";
import { badmailfromCheck, REPLY_BAD_MAIL_FROM } from "./badmailfrom.ts";
import { badmailtoCheck, REPLY_BAD_MAIL_TO } from "./badmailto.ts";
import { badrcpttoCheck, REPLY_BAD_RCPT_TO } from "./badrcptto.ts";
import { badrmhostCheck, REPLY_BAD_REMOTE_HOST } from "./badrmhost.ts";
import { runChain } from "./chain.ts";
import { type FilterRequest, PASS } from "./filter.ts";
import { goodmailfromCheck } from "./goodmailfrom.ts";
import type { ListCheckSettings, ListScope } from "./list_check.ts";

function list(source: string, ...values: string[]): PatternList {
  return { source, lines: values.map((value, i) => ({ value, line: i + 1 })) };
}

function settings(
  lists: [ListScope, PatternList][],
  log = false,
): ListCheckSettings {
  return { lists: lists.map(([scope, list]) => ({ scope, list })), log };
}

function request(fields: Partial<FilterRequest>): FilterRequest {
  return {
    phase: "mail",
    remoteIp: "192.0.2.1",
    env: {},
    relaying: false,
    tls: false,
    recipients: [],
    now: 0,
    ...fields,
  };
}

const BAD_FROM = list("control/badmailfrom", "@spam.example", ".*bulk.*");

Deno.test("badmailfrom: refuses at MAIL with seed 000's reply and names file, line and entry", () => {
  const verdict = badmailfromCheck.check(
    request({ sender: "boss@Spam.Example" }),
    settings([["all", BAD_FROM]]),
  );
  assertEquals(verdict, {
    kind: "refuse",
    reply: [REPLY_BAD_MAIL_FROM],
    rule: { check: "badmailfrom", source: "control/badmailfrom", line: 1, entry: "@spam.example" },
    tarpitted: true,
  });
  assertEquals(REPLY_BAD_MAIL_FROM, "553 5.7.1 sorry, your envelope sender has been denied");
  const regex = badmailfromCheck.check(
    request({ sender: "bulkmail@example.org" }),
    settings([["all", BAD_FROM]]),
  );
  assertEquals(regex.kind === "refuse" && regex.rule.line, 2);
});

Deno.test("badmailfrom: the empty sender and unlisted senders pass", () => {
  const lists = settings([["all", list("control/badmailfrom", "!@", ".*")]]);
  assertEquals(badmailfromCheck.check(request({ sender: "" }), lists), PASS);
  assertEquals(
    badmailfromCheck.check(request({ sender: "a@ok.example" }), settings([["all", BAD_FROM]])),
    PASS,
  );
});

Deno.test("ext lists skip relaying clients, int lists check only them", () => {
  const ext = list("control/badmailfromext", "@ext.example");
  const int = list("control/badmailfromint", "@int.example");
  const both = settings([["ext", ext], ["int", int]]);
  const outside = (sender: string) =>
    badmailfromCheck.check(request({ sender, relaying: false }), both).kind;
  const inside = (sender: string) =>
    badmailfromCheck.check(request({ sender, relaying: true }), both).kind;
  assertEquals(outside("a@ext.example"), "refuse");
  assertEquals(outside("a@int.example"), "pass");
  assertEquals(inside("a@ext.example"), "pass");
  assertEquals(inside("a@int.example"), "refuse");
});

Deno.test("control/log/bmchecks: a log line on the verdict only when on", () => {
  const on = badmailfromCheck.check(
    request({ sender: "a@spam.example" }),
    settings([["all", BAD_FROM]], true),
  ) as { log?: string };
  assertEquals(
    on.log,
    "bmchecks: badmailfrom control/badmailfrom line 1 (@spam.example) matched <a@spam.example>",
  );
  const off = badmailfromCheck.check(
    request({ sender: "a@spam.example" }),
    settings([["all", BAD_FROM]]),
  ) as { log?: string };
  assertEquals(off.log, undefined);
});

Deno.test("badhelo: refuses a matching HELO with seed 000's reply; !\\. refuses dotless names", () => {
  const lists = settings([["all", list("control/badhelo", "!\\.", "friend.example")]], true);
  const dotless = badheloCheck.check(request({ phase: "helo", helo: "friend" }), lists);
  assertEquals(
    dotless,
    {
      kind: "refuse",
      reply: [REPLY_BAD_HELO],
      rule: { check: "badhelo", source: "control/badhelo", line: 1, entry: "!\\." },
      log: "bmchecks: badhelo control/badhelo line 1 (!\\.) matched helo(friend)",
      tarpitted: true,
    } as unknown as typeof dotless,
  );
  assertEquals(REPLY_BAD_HELO, "553 5.7.1 sorry, your helo or ehlo is incorrect");
  assertEquals(
    badheloCheck.check(request({ phase: "helo", helo: "FRIEND.example" }), lists).kind,
    "refuse",
  );
  assertEquals(badheloCheck.check(request({ phase: "helo", helo: "mx.example.org" }), lists), PASS);
  assertEquals(badheloCheck.check(request({ phase: "helo" }), lists), PASS);
});

Deno.test("goodmailfrom: accepts, so badmailfrom after it in the chain is not asked", () => {
  const good = settings([["all", list("control/goodmailfrom", "root@stupidhost.local")]]);
  const bad = settings([["all", list("control/badmailfrom", "!\\.[a-z]+$", "@stupidhost.local")]]);
  const checks = [
    { check: goodmailfromCheck, settings: good },
    { check: badmailfromCheck, settings: bad },
  ];
  const whitelisted = runChain(checks, request({ sender: "root@stupidhost.local" }));
  assertEquals(whitelisted.kind, "continue");
  assertEquals(whitelisted.kind === "continue" && whitelisted.accepted, {
    check: "goodmailfrom",
    source: "control/goodmailfrom",
    line: 1,
    entry: "root@stupidhost.local",
  });
  assertEquals(whitelisted.decisions.map((d) => `${d.check} ${d.verdict}`), [
    "goodmailfrom accept",
  ]);
  const other = runChain(checks, request({ sender: "user@stupidhost.local" }));
  assertEquals(other.kind, "refuse");
  assertEquals(other.decisions.map((d) => `${d.check} ${d.verdict}`), [
    "goodmailfrom pass",
    "badmailfrom refuse",
  ]);
});

Deno.test("badrmhost: matches TCPREMOTEHOST; an unknown host is not checked", () => {
  const lists = settings([["ext", list("control/badrmhostext", ".*\\.dyn\\.example$")]]);
  const verdict = badrmhostCheck.check(request({ remoteHost: "a-1-2.DYN.example" }), lists);
  assertEquals(verdict.kind === "refuse" && verdict.reply, [REPLY_BAD_REMOTE_HOST]);
  assertEquals(badrmhostCheck.check(request({ remoteHost: "mx.example.org" }), lists), PASS);
  assertEquals(badrmhostCheck.check(request({}), lists), PASS);
  assertEquals(
    badrmhostCheck.check(request({ remoteHost: "a.dyn.example", relaying: true }), lists),
    PASS,
  );
});

Deno.test("badmailto: refuses a matching recipient with seed 000's reply", () => {
  const lists = settings([["all", list("control/badmailto", "[!%#:*^(){}]", "@.*@")]]);
  const verdict = badmailtoCheck.check(
    request({ phase: "rcpt", recipient: "a%b@example.net" }),
    lists,
  );
  assertEquals(verdict.kind === "refuse" && verdict.reply, [REPLY_BAD_MAIL_TO]);
  assertEquals(REPLY_BAD_MAIL_TO, "553 5.7.1 sorry, your envelope recipient has been denied");
  assertEquals(
    badmailtoCheck.check(request({ phase: "rcpt", recipient: "b@example.net" }), lists),
    PASS,
  );
});

Deno.test("badrcptto: refuses, always logs seed 003's line, spares relaying clients", () => {
  const lists = settings([["ext", list("control/badrcptto", "sales@example.net")]]);
  const verdict = badrcpttoCheck.check(
    request({ phase: "rcpt", recipient: "Sales@example.net", remoteIp: "198.51.100.7" }),
    lists,
  ) as { kind: string; reply: string[]; log?: string };
  assertEquals(verdict.reply, [REPLY_BAD_RCPT_TO]);
  assertEquals(verdict.log, "badrcptto: Sales@example.net at 198.51.100.7");
  assertEquals(
    badrcpttoCheck.check(
      request({ phase: "rcpt", recipient: "sales@example.net", relaying: true }),
      lists,
    ),
    PASS,
  );
});
