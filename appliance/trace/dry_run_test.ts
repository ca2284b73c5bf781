import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";
import { type FilterCheck, PASS, refuse } from "../filters/filter.ts";
import type { ActiveCheck } from "../filters/chain.ts";
import { type DryRunSession, dryRunSession, type RunLookup, scanMessage } from "./dry_run.ts";

const refuseAll: FilterCheck<string> = {
  name: "first",
  phases: ["rcpt"],
  check: (request, blocked) =>
    request.recipient === blocked ? refuse("550 no", { check: "first", entry: blocked }) : PASS,
};
const second: FilterCheck<null> = {
  name: "second",
  phases: ["rcpt", "data"],
  check: (request) =>
    request.phase === "data"
      ? refuse(`554 for ${request.recipients.join(",")}`, { check: "second" })
      : refuse("550 second says no", { check: "second" }),
};
const asks: FilterCheck<null> = {
  name: "asks",
  phases: ["connect"],
  check: () => ({ kind: "lookup", lookup: { kind: "dns", name: "x.example", type: "A" } }),
  resume: (_request, _settings, answer) =>
    answer.kind === "dns" && answer.records.length > 0
      ? { kind: "tarpit", seconds: 2, rule: { check: "asks" } }
      : PASS,
};

const SESSION: DryRunSession = {
  remoteIp: "192.0.2.1",
  helo: "h.example",
  sender: "a@b.example",
  recipients: ["bad@x.example", "good@x.example"],
  env: {},
  relaying: false,
  tls: false,
  now: 1000,
};

const CHECKS: ActiveCheck[] = [
  { check: asks, settings: null },
  { check: refuseAll, settings: "bad@x.example" },
  { check: second, settings: null },
];

const found: RunLookup = () => Promise.resolve({ kind: "dns", records: ["127.0.0.2"] });

Deno.test("dry run, chain: the first refusal of a phase decides and later checks are not asked", async () => {
  const asked: string[] = [];
  const result = await dryRunSession(CHECKS, SESSION, (lookup, check) => {
    asked.push(`${check} ${lookup.kind}`);
    return found(lookup, check);
  }, "chain");
  assertEquals(asked, ["asks dns"]);
  const rcpt = result.phases.filter((phase) => phase.phase === "rcpt");
  assertEquals(rcpt[0].decisions.map((d) => `${d.check} ${d.verdict}`), ["first refuse"]);
  assertEquals(rcpt[1].decisions.map((d) => `${d.check} ${d.verdict}`), [
    "first pass",
    "second refuse",
  ]);
  assertEquals(result.phases[0].tarpitSeconds, 2);
  // No recipient taken, and DATA refused: a refusal outside RCPT decides the session.
  assertEquals(result.refusal?.phase, "data");
  assertEquals(result.refusal?.decision.reply, "554 for ");
  assertEquals(result.accepted, []);
});

Deno.test("dry run, every: each check's opinion, the phase still decided in chain order", async () => {
  const result = await dryRunSession(CHECKS, SESSION, found, "every");
  const rcpt = result.phases.filter((phase) => phase.phase === "rcpt");
  assertEquals(rcpt[0].decisions.map((d) => `${d.check} ${d.verdict}`), [
    "first refuse",
    "second refuse",
  ]);
  assertEquals(rcpt[0].decidedBy?.check, "first");
  // Both recipients refused: DATA is asked with none.
  const data = result.phases.find((phase) => phase.phase === "data")!;
  assertEquals(data.decisions[0].reply, "554 for ");
  assertEquals(result.phases.map((phase) => phase.phase), [
    "connect",
    "helo",
    "mail",
    "rcpt",
    "rcpt",
    "data",
    "end",
  ]);
});

Deno.test("dry run: a refused RCPT is left out of the later phases' recipients", async () => {
  const result = await dryRunSession(
    [{ check: refuseAll, settings: "bad@x.example" }, {
      check: { ...second, phases: ["data"] },
      settings: null,
    }],
    SESSION,
    found,
    "chain",
  );
  assertEquals(result.accepted, ["good@x.example"]);
  assertEquals(
    result.phases.find((phase) => phase.phase === "data")!.decisions[0].reply,
    "554 for good@x.example",
  );
});

Deno.test("dry run: a check that never stops asking is cut off", async () => {
  const forever: FilterCheck<null> = {
    ...asks,
    resume: () => ({ kind: "lookup", lookup: { kind: "dns", name: "y.example", type: "A" } }),
  };
  const error = await assertRejects(
    () => dryRunSession([{ check: forever, settings: null }], SESSION, found, "chain"),
    Error,
  );
  assertStringIncludes(error.message, "lookups");
});

Deno.test("scanMessage: chunks the message into each scan; a failing scan is reported, not thrown", async () => {
  const seen: number[] = [];
  const decisions = await scanMessage(
    [
      {
        name: "counts",
        scan: {
          write: (chunk) => Promise.resolve(void seen.push(chunk.length)),
          finish: () => Promise.resolve(refuse("554 no", { check: "counts" })),
          abort: () => Promise.resolve(),
        },
      },
      {
        name: "breaks",
        scan: {
          write: () => Promise.reject(new Error("clamd went away")),
          finish: () => Promise.resolve(PASS),
          abort: () => Promise.resolve(),
        },
      },
    ],
    new Uint8Array(10),
    { ...SESSION, phase: "end", recipients: [] },
    4,
  );
  assertEquals(seen, [4, 4, 2]);
  assertEquals(decisions.map((d) => [d.check, d.verdict, d.reply]), [
    ["counts", "refuse", "554 no"],
    ["breaks", "pass", undefined],
  ]);
  assertEquals(decisions[1].input, "message (10 bytes), the scan failed: clamd went away");
});

Deno.test("dry run: a refused RCPT refuses the session only when no recipient is taken", async () => {
  const one = await dryRunSession(
    [{ check: refuseAll, settings: "bad@x.example" }],
    SESSION,
    found,
    "chain",
  );
  assertEquals(one.accepted, ["good@x.example"]);
  assertEquals(one.refusal, undefined);
  const all = await dryRunSession(
    [{ check: refuseAll, settings: "bad@x.example" }],
    { ...SESSION, recipients: ["bad@x.example"] },
    found,
    "chain",
  );
  assertEquals(all.refusal?.phase, "rcpt");
});
