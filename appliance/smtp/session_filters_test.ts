/**
 * The session's side of the filter chain without a driver: a lookup holds
 * the session until lookupAnswered(), the request carries what the session
 * knows, and the end of DATA asks for a commit only when nothing refused.
 */
import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { stringToBytes } from "../bytes.ts";
import type { FilterRequest, Verdict } from "../filters/filter.ts";
import { PASS } from "../filters/filter.ts";
import { SmtpSession } from "./session.ts";

const NOW = new Date("2024-03-05T07:08:09Z");

function session(decide: (request: FilterRequest) => Verdict, seen: FilterRequest[] = []) {
  return new SmtpSession({
    greeting: ["mx.example.net"],
    localHost: "mx.example.net",
    remoteIp: "192.0.2.1",
    remoteHost: "client.example",
    rcptHosts: (domain) => domain === "example.net",
    databytes: 0,
    badMailFrom: [],
    env: { RBLSMTPD: "" },
    checks: [{
      check: {
        name: "fake",
        phases: ["connect", "helo", "mail", "rcpt", "data", "end"],
        check: (request: FilterRequest) => {
          seen.push(request);
          return decide(request);
        },
        resume: (_request: FilterRequest, _settings: unknown, answer) =>
          answer.kind === "dns" && answer.records.length > 0
            ? { kind: "refuse", reply: ["554 listed"], rule: { check: "fake" } }
            : PASS,
      },
      settings: null,
    }],
  });
}

const send = (smtp: SmtpSession, line: string) => smtp.receiveLine(stringToBytes(line), NOW);

Deno.test("a lookup at connect holds the greeting until the answer", () => {
  const smtp = session((request) =>
    request.phase === "connect"
      ? { kind: "lookup", lookup: { kind: "dns", name: "1.2.0.192.zen.example", type: "A" } }
      : PASS
  );
  const first = smtp.greet(NOW);
  assertEquals(first.replies, []);
  assertEquals(first.effects, [{
    kind: "lookup",
    lookup: { kind: "dns", name: "1.2.0.192.zen.example", type: "A" },
  }]);
  assertEquals(smtp.phase, "lookup");
  assertThrows(() => send(smtp, "HELO x"));
  assertEquals(smtp.lookupAnswered({ kind: "dns", records: [] }, NOW).replies, [
    "220 mx.example.net ESMTP",
  ]);
  assertEquals(send(smtp, "HELO x").replies, ["250 mx.example.net"]);
});

Deno.test("the checks' requests carry the client, HELO, sender and recipients", () => {
  const seen: FilterRequest[] = [];
  const smtp = session(() => PASS, seen);
  smtp.greet(NOW);
  send(smtp, "HELO client.example");
  send(smtp, "MAIL FROM:<a@example.org>");
  send(smtp, "RCPT TO:<b@example.net>");
  send(smtp, "RCPT TO:<c@example.net>");
  const data = send(smtp, "DATA");
  assertEquals(seen.map((r) => [r.phase, r.helo, r.sender, r.recipient, r.recipients]), [
    ["connect", undefined, undefined, undefined, []],
    ["helo", "client.example", undefined, undefined, []],
    ["mail", "client.example", "a@example.org", undefined, []],
    ["rcpt", "client.example", "a@example.org", "b@example.net", []],
    ["rcpt", "client.example", "a@example.org", "c@example.net", ["b@example.net"]],
    ["data", "client.example", "a@example.org", undefined, ["b@example.net", "c@example.net"]],
  ]);
  assertEquals(seen[0].remoteHost, "client.example");
  assertEquals(seen[0].env, { RBLSMTPD: "" });
  assertEquals(seen[0].now, NOW.getTime());
  assertEquals(data.replies, ["354 go ahead"]);
  const end = smtp.bodyReceived([{ check: "scan", verdict: PASS }], NOW);
  assertEquals(end.effects, [{ kind: "commit" }]);
  assertEquals(
    smtp.dataFinished({ kind: "queued", time: 1, qp: "7" }).replies,
    ["250 2.6.0 ok 1 qp 7"],
  );
  assertEquals(smtp.decisions.at(-2)?.check, "scan");
});

Deno.test("a scan's refusal at the end of DATA asks for no commit and needs a new MAIL", () => {
  const smtp = session(() => PASS);
  smtp.greet(NOW);
  send(smtp, "HELO client.example");
  send(smtp, "MAIL FROM:<a@example.org>");
  send(smtp, "RCPT TO:<b@example.net>");
  send(smtp, "DATA");
  const end = smtp.bodyReceived([{
    check: "clamd",
    verdict: { kind: "refuse", reply: ["554 5.7.7 virus"], rule: { check: "clamd" } },
  }], NOW);
  assertEquals(end.replies, ["554 5.7.7 virus"]);
  assertEquals(end.effects.map((effect) => effect.kind), ["log"]);
  assertEquals(send(smtp, "RCPT TO:<b@example.net>").replies, ["503 5.5.1 MAIL first"]);
});

Deno.test("a MAIL refused for the whole transaction refuses its RCPTs and DATA, not the one before", () => {
  const smtp = session((request) =>
    request.phase === "mail" && request.sender === "bad@example.org"
      ? {
        kind: "refuse",
        reply: ["553 5.7.1 not from you"],
        rule: { check: "fake" },
        scope: "transaction",
      }
      : PASS
  );
  smtp.greet(NOW);
  send(smtp, "HELO client.example");
  assertEquals(send(smtp, "MAIL FROM:<bad@example.org>").replies, ["553 5.7.1 not from you"]);
  assertEquals(send(smtp, "RCPT TO:<b@example.net>").replies, ["553 5.7.1 not from you"]);
  assertEquals(send(smtp, "MAIL FROM:<good@example.org>").replies, ["250 2.1.0 ok"]);
  assertEquals(send(smtp, "RCPT TO:<b@example.net>").replies, ["250 2.1.5 ok"]);
  assertEquals(send(smtp, "DATA").replies, ["354 go ahead"]);
});
