import { assertEquals } from "../../tests/assert.ts";
import type { FilterRequest } from "./filter.ts";
import { HELO_DNS_SOFT_REPLY, HELO_UNRESOLVED_REPLY, heloDnsCheck } from "./helodnschk.ts";
import { driveCheck as drive } from "../../tests/filter_drive.ts";

const request: FilterRequest = {
  phase: "helo",
  remoteIp: "192.0.2.1",
  env: {},
  relaying: false,
  tls: false,
  helo: "Client.Example.",
  recipients: [],
  now: 0,
};
const EXT = { external: true, internal: false };

Deno.test("helodnschk: ext checks clients without RELAYCLIENT, int those with it", () => {
  assertEquals(heloDnsCheck.check({ ...request, relaying: true }, EXT), { kind: "pass" });
  assertEquals(heloDnsCheck.check(request, { external: false, internal: true }), { kind: "pass" });
  assertEquals(heloDnsCheck.check(request, EXT), {
    kind: "lookup",
    lookup: { kind: "dns", name: "client.example", type: "A" },
  });
});

Deno.test("helodnschk: an A or AAAA record passes; none refuses 553; DNS trouble 451", () => {
  const a = drive(heloDnsCheck, request, EXT, {
    "A client.example": { kind: "dns", records: ["192.0.2.1"] },
  });
  assertEquals(a.verdict, { kind: "pass" });
  const aaaa = drive(heloDnsCheck, request, EXT, {
    "A client.example": { kind: "dns", records: [] },
    "AAAA client.example": { kind: "dns", records: ["2001:db8::1"] },
  });
  assertEquals(aaaa, {
    verdict: { kind: "pass" },
    asked: ["A client.example", "AAAA client.example"],
  });
  const none = drive(heloDnsCheck, request, EXT, {});
  assertEquals(none.verdict.kind === "refuse" && none.verdict.reply, [HELO_UNRESOLVED_REPLY]);
  assertEquals(none.asked, ["A client.example"]);
  const soft = drive(heloDnsCheck, request, EXT, {
    "A client.example": { kind: "temporary", reason: "SERVFAIL" },
  });
  assertEquals(soft.verdict.kind === "refuse" && soft.verdict.reply, [HELO_DNS_SOFT_REPLY]);
  assertEquals(soft.verdict.kind === "refuse" && soft.verdict.rule.source, "control/helodnschkext");
});

Deno.test("helodnschk: an address literal passes; a name that cannot be one refuses at once", () => {
  assertEquals(heloDnsCheck.check({ ...request, helo: "[192.0.2.1]" }, EXT), { kind: "pass" });
  const bad = heloDnsCheck.check({ ...request, helo: "not a name" }, EXT);
  assertEquals(bad.kind === "refuse" && bad.reply, [HELO_UNRESOLVED_REPLY]);
});
