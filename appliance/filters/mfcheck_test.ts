import { assert, assertEquals } from "../../tests/assert.ts";
import { filterRequest } from "./test_request.ts";
import { utf8ByteString } from "../bytes.ts";
import type { LookupAnswer, Verdict } from "./filter.ts";
import { driveCheck } from "../../tests/filter_drive.ts";
import {
  callbackFailedReply,
  MFCHECK_HARD_REPLY,
  MFCHECK_SOFT_REPLY,
  mfcheckCheck,
  type MfcheckSettings,
  senderDomain,
} from "./mfcheck.ts";
import { MX_BLACKLISTED_REPLY, normaliseAddress, withoutBlacklisted } from "./mxblacklist.ts";

const request = filterRequest("mail", {
  helo: "client.example",
  sender: "someone@sender.example",
});

const ONE: MfcheckSettings = {
  level: 1,
  source: "control/mfcheck",
  timeoutSeconds: 60,
  mxBlacklist: [],
};
const TWO: MfcheckSettings = { ...ONE, level: 2, mxBlacklist: ["127.0.0.1"] };

const drive = driveCheck;

function reply(verdict: Verdict): string | undefined {
  return verdict.kind === "refuse" ? verdict.reply.join("\n") : undefined;
}

Deno.test("mfcheck 1: an MX, or else an A or AAAA record, is enough", () => {
  const mx = drive(mfcheckCheck, request, ONE, {
    "MX sender.example": { kind: "dns", records: ["10 mx.sender.example"] },
  });
  assertEquals(mx, { verdict: { kind: "pass" }, asked: ["MX sender.example"] });
  const a = drive(mfcheckCheck, request, ONE, {
    "MX sender.example": { kind: "dns", records: [] },
    "A sender.example": { kind: "dns", records: ["192.0.2.5"] },
  });
  assertEquals(a, { verdict: { kind: "pass" }, asked: ["MX sender.example", "A sender.example"] });
  const aaaa = drive(mfcheckCheck, request, ONE, {
    "MX sender.example": { kind: "dns", records: [] },
    "A sender.example": { kind: "dns", records: [] },
    "AAAA sender.example": { kind: "dns", records: ["2001:db8::5"] },
  });
  assertEquals(aaaa.verdict, { kind: "pass" });
});

Deno.test("mfcheck 1: NXDOMAIN, no address, a null MX refuse 553; a DNS failure 451", () => {
  const nx = drive(mfcheckCheck, request, ONE, {});
  assertEquals(reply(nx.verdict), MFCHECK_HARD_REPLY);
  assertEquals(nx.asked, ["MX sender.example"]);
  const empty = drive(mfcheckCheck, request, ONE, {
    "MX sender.example": { kind: "dns", records: [] },
    "A sender.example": { kind: "dns", records: [] },
    "AAAA sender.example": { kind: "dns", records: [] },
  });
  assertEquals(reply(empty.verdict), MFCHECK_HARD_REPLY);
  const nullMx = drive(mfcheckCheck, request, ONE, {
    "MX sender.example": { kind: "dns", records: ["0 ."] },
  });
  assertEquals(reply(nullMx.verdict), MFCHECK_HARD_REPLY);
  const soft = drive(mfcheckCheck, request, ONE, {
    "MX sender.example": { kind: "temporary", reason: "timed out" },
  });
  assertEquals(reply(soft.verdict), MFCHECK_SOFT_REPLY);
  assert(soft.verdict.kind === "refuse");
  assertEquals(soft.verdict.rule, {
    check: "mfcheck",
    source: "control/mfcheck",
    entry: "MX sender.example: timed out",
  });
});

Deno.test("mfcheck: <> and address literals are not checked; no domain refuses unless relaying", () => {
  assertEquals(mfcheckCheck.check({ ...request, sender: "" }, ONE), { kind: "pass" });
  assertEquals(mfcheckCheck.check({ ...request, sender: "a@[192.0.2.1]" }, ONE), { kind: "pass" });
  assertEquals(reply(mfcheckCheck.check({ ...request, sender: "root" }, ONE)), MFCHECK_HARD_REPLY);
  assertEquals(mfcheckCheck.check({ ...request, sender: "root", relaying: true }, ONE), {
    kind: "pass",
  });
  assertEquals(senderDomain("A@B.Example."), "b.example");
  assertEquals(senderDomain("a@"), undefined);
});

Deno.test("mfcheck 2: a callback after the DNS check; only 5xx refuses, with seed 000's text", () => {
  const dns: Record<string, LookupAnswer> = {
    "MX sender.example": { kind: "dns", records: ["10 mx.sender.example"] },
  };
  const ok = drive(mfcheckCheck, request, TWO, {
    ...dns,
    callback: { kind: "callback", accepted: true, reply: "250 ok" },
  });
  assertEquals(ok, { verdict: { kind: "pass" }, asked: ["MX sender.example", "callback"] });
  const refused = drive(mfcheckCheck, request, TWO, {
    ...dns,
    callback: { kind: "callback", accepted: false, reply: "550 no such user" },
  });
  assertEquals(
    reply(refused.verdict),
    "550 5.1.8 bad sender's mailbox address, RCPT TO:<someone@sender.example> failed",
  );
  assertEquals(
    callbackFailedReply("x@y"),
    "550 5.1.8 bad sender's mailbox address, RCPT TO:<x@y> failed",
  );
  assert(refused.verdict.kind === "refuse");
  assertEquals(refused.verdict.rule.entry, "550 no such user");
  const unreachable = drive(mfcheckCheck, request, TWO, {
    ...dns,
    callback: { kind: "temporary", reason: "connection refused" },
  });
  assertEquals(unreachable.verdict, { kind: "pass" });
  const blacklisted = drive(mfcheckCheck, request, TWO, {
    ...dns,
    callback: { kind: "callback", accepted: false, blacklisted: true, reply: "127.0.0.1" },
  });
  assertEquals(reply(blacklisted.verdict), MX_BLACKLISTED_REPLY);
  assertEquals(
    MX_BLACKLISTED_REPLY,
    "451 4.1.8 bad sender's system address, your mx is blacklisted!",
  );
});

Deno.test("mfcheck 2: the callback asks with timeoutmfcheck and mxblacklist; RELAYCLIENT clients get none", () => {
  const first = mfcheckCheck.resume!(
    request,
    TWO,
    { kind: "dns", records: ["10 mx.sender.example"] },
    { kind: "dns", name: "sender.example", type: "MX" },
  );
  assertEquals(first, {
    kind: "lookup",
    lookup: {
      kind: "callback",
      sender: "someone@sender.example",
      timeoutSeconds: 60,
      mxBlacklist: ["127.0.0.1"],
    },
  });
  const relaying = drive(mfcheckCheck, { ...request, relaying: true }, TWO, {
    "MX sender.example": { kind: "dns", records: ["10 mx.sender.example"] },
  });
  assertEquals(relaying, { verdict: { kind: "pass" }, asked: ["MX sender.example"] });
});

Deno.test("mxblacklist: addresses compared in one spelling", () => {
  assertEquals(normaliseAddress("[::FFFF:127.0.0.1]"), "127.0.0.1");
  assertEquals(
    withoutBlacklisted(["127.0.0.1", "192.0.2.7", "::ffff:127.0.0.1"], ["127.0.0.1"]),
    ["192.0.2.7"],
  );
});

Deno.test("mfcheck: a UTF-8 sender domain keeps its bytes (ASCII folded); level 2 asks no callback", () => {
  const sender = utf8ByteString("jörg@Bücher.Example");
  const domain = utf8ByteString("bücher.example");
  assertEquals(senderDomain(sender), domain);
  const utf8 = filterRequest("mail", { helo: "client.example", sender });
  const result = drive(mfcheckCheck, utf8, TWO, {
    [`MX ${domain}`]: { kind: "dns", records: ["10 mx.sender.example"] },
  });
  assertEquals(result, { verdict: { kind: "pass" }, asked: [`MX ${domain}`] });
});
