import { assert, assertEquals } from "../../tests/assert.ts";
import { filterRequest } from "./test_request.ts";
import type { Lookup, LookupAnswer } from "./filter.ts";
import { SPF_TEMPORARY_REPLY, spfCheck, type SpfSettings } from "./spf.ts";

const request = filterRequest("mail", {
  helo: "client.example",
  sender: "someone@sender.example",
});

const LOOKUP: Lookup = {
  kind: "spf",
  ip: "192.0.2.1",
  helo: "client.example",
  sender: "someone@sender.example",
  timeoutSeconds: 20,
};

function behavior(n: number): SpfSettings {
  return { behavior: n, source: "control/spfbehavior" };
}

function answer(result: string, header?: string): LookupAnswer {
  return {
    kind: "spf",
    result: result as "pass",
    explanation: `mx.example: ${result}`,
    header: header ?? `Received-SPF: ${result} (mx.example: ${result}) client-ip=192.0.2.1;`,
  };
}

Deno.test("spf: asks at MAIL for the client, HELO and sender; relaying and AUTH clients are not checked", () => {
  assertEquals(spfCheck.check(request, behavior(1)), { kind: "lookup", lookup: LOOKUP });
  assertEquals(spfCheck.check({ ...request, relaying: true }, behavior(3)), { kind: "pass" });
  assertEquals(spfCheck.check({ ...request, authUser: "joe" }, behavior(3)), { kind: "pass" });
});

Deno.test("spf 1: annotate only, every result passes with its Received-SPF header", () => {
  for (const result of ["pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"]) {
    const verdict = spfCheck.resume!(request, behavior(1), answer(result), LOOKUP);
    assertEquals(verdict, {
      kind: "pass",
      headers: [`Received-SPF: ${result} (mx.example: ${result}) client-ip=192.0.2.1;`],
    }, result);
  }
});

Deno.test("spf 2: DNS trouble is 451 (temperror, or no answer in time); fail still passes", () => {
  const temp = spfCheck.resume!(request, behavior(2), answer("temperror"), LOOKUP);
  assert(temp.kind === "refuse");
  assertEquals(temp.reply, [SPF_TEMPORARY_REPLY]);
  assertEquals(SPF_TEMPORARY_REPLY, "451 SPF lookup failure (#4.3.0)");
  const timeout = spfCheck.resume!(
    request,
    behavior(2),
    { kind: "temporary", reason: "timed out" },
    LOOKUP,
  );
  assert(timeout.kind === "refuse");
  assertEquals(timeout.rule, {
    check: "spf",
    source: "control/spfbehavior",
    entry: "temperror: timed out",
  });
  assertEquals(spfCheck.resume!(request, behavior(2), answer("fail"), LOOKUP).kind, "pass");
  const annotated = spfCheck.resume!(
    request,
    behavior(1),
    { kind: "temporary", reason: "timed out" },
    LOOKUP,
  );
  assertEquals(annotated, {
    kind: "pass",
    headers: ["Received-SPF: temperror (timed out) client-ip=192.0.2.1;"],
  });
});

Deno.test("spf 3: fail is refused with 550 and the reason; softfail, neutral, none pass", () => {
  const fail = spfCheck.resume!(
    request,
    { behavior: 3, source: "SPFBEHAVIOR" },
    answer("fail"),
    LOOKUP,
  );
  assert(fail.kind === "refuse");
  assertEquals(fail.reply, ["550 mx.example: fail (#5.7.1)"]);
  assertEquals(fail.rule.source, "SPFBEHAVIOR");
  for (const result of ["softfail", "neutral", "none", "permerror", "pass"]) {
    assertEquals(spfCheck.resume!(request, behavior(3), answer(result), LOOKUP).kind, "pass");
  }
  const temp = spfCheck.resume!(request, behavior(3), answer("temperror"), LOOKUP);
  assertEquals(temp.kind, "refuse");
});

Deno.test("spf: a folded header from the evaluator is one line", () => {
  const folded = answer("pass", "Received-SPF: pass (long\r\n comment) client-ip=192.0.2.1;");
  assertEquals(spfCheck.resume!(request, behavior(1), folded, LOOKUP), {
    kind: "pass",
    headers: ["Received-SPF: pass (long comment) client-ip=192.0.2.1;"],
  });
});
