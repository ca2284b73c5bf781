import { assertEquals } from "../../tests/assert.ts";
import { type ActiveCheck, resumeChain, runChain } from "./chain.ts";
import { type FilterCheck, type FilterRequest, PASS, refuse } from "./filter.ts";

const request: FilterRequest = {
  phase: "mail",
  remoteIp: "192.0.2.1",
  env: {},
  relaying: false,
  tls: false,
  sender: "a@example.com",
  recipients: [],
  now: 0,
};

const header: FilterCheck<string> = {
  name: "header",
  phases: ["mail"],
  check: (_request, text) => ({ kind: "pass", headers: [text] }),
};
const slow: FilterCheck<number> = {
  name: "slow",
  phases: ["mail"],
  check: (_request, seconds) => ({ kind: "tarpit", seconds, rule: { check: "slow" } }),
};
const refuser: FilterCheck<string> = {
  name: "refuser",
  phases: ["mail"],
  check: (request, banned) =>
    request.sender === banned
      ? refuse("553 sorry (#5.7.1)", { check: "refuser", source: "control/x", line: 2 })
      : PASS,
};
const asker: FilterCheck<null> = {
  name: "asker",
  phases: ["mail", "rcpt"],
  check: () => ({ kind: "lookup", lookup: { kind: "dns", name: "example.com", type: "MX" } }),
  resume: (_request, _settings, answer) =>
    answer.kind === "dns" && answer.records.length > 0
      ? PASS
      : refuse("451 no MX (#4.1.8)", { check: "asker" }),
};

Deno.test("chain: passes add headers and tarpits add up, then a refusal ends the phase", () => {
  const checks: ActiveCheck[] = [
    { check: header, settings: "X-A: 1" },
    { check: slow, settings: 2 },
    { check: slow, settings: 3 },
    { check: refuser, settings: "a@example.com" },
    { check: header, settings: "X-B: never asked" },
  ];
  const outcome = runChain(checks, request);
  assertEquals(outcome.kind, "refuse");
  assertEquals(outcome.headers, ["X-A: 1"]);
  assertEquals(outcome.tarpitSeconds, 5);
  assertEquals(outcome.decisions.map((d) => d.verdict), ["pass", "tarpit", "tarpit", "refuse"]);
  assertEquals(outcome.decisions[3].reply, "553 sorry (#5.7.1)");
  assertEquals(outcome.decisions[3].rule?.line, 2);
});

Deno.test("chain: checks of other phases are not asked", () => {
  const outcome = runChain([{ check: refuser, settings: "a@example.com" }], {
    ...request,
    phase: "rcpt",
  });
  assertEquals(outcome.kind, "continue");
  assertEquals(outcome.decisions, []);
});

Deno.test("chain: a lookup stops the run and the answer resumes at the same check", () => {
  const checks: ActiveCheck[] = [
    { check: asker, settings: null },
    { check: header, settings: "X-After: 1" },
  ];
  const first = runChain(checks, request);
  if (first.kind !== "lookup") throw new Error("expected a lookup");
  assertEquals(first.lookup, { kind: "dns", name: "example.com", type: "MX" });
  const found = resumeChain(checks, request, first.resume, {
    kind: "dns",
    records: ["10 mx.example.com"],
  }, first);
  assertEquals(found.kind, "continue");
  assertEquals(found.headers, ["X-After: 1"]);
  assertEquals(found.decisions.map((d) => `${d.check}:${d.verdict}`), [
    "asker:lookup",
    "asker:pass",
    "header:pass",
  ]);
  const missing = resumeChain(checks, request, first.resume, { kind: "temporary", reason: "x" });
  assertEquals(missing.kind, "refuse");
});
