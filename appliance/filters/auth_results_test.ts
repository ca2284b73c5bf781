/**
 * The pure part of incoming authentication results: the header section's
 * end and fields in the LF form, our header's shape, the DMARC decision and
 * the strict alignment check.
 */
import { assertEquals } from "../../tests/assert.ts";
import type { Verdict } from "./filter.ts";
import {
  alignedAsAsked,
  dmarcVerdict,
  formatAuthResults,
  HeaderEnd,
  isAuthResultsField,
  SignatureFields,
  splitHeaderFields,
  summarizeEntries,
} from "./auth_results.ts";

const bytes = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
const text = (data: Uint8Array) => String.fromCharCode(...data);

Deno.test("auth results: the header section ends at the first empty line, across chunks", () => {
  const message = "From: a\nSubject: b\n c\n\nbody\n\nmore\n";
  for (let size = 1; size <= message.length; size++) {
    const end = new HeaderEnd();
    let inHeader = 0;
    for (let at = 0; at < message.length; at += size) {
      inHeader += end.push(bytes(message.slice(at, at + size)));
    }
    assertEquals(end.end, 23, `chunks of ${size}`);
    assertEquals(inHeader, 23, `chunks of ${size}`);
    assertEquals(end.seen, message.length);
  }
  const empty = new HeaderEnd();
  empty.push(bytes("\nbody only\n"));
  assertEquals(empty.end, 1);
  const none = new HeaderEnd();
  none.push(bytes("From: a\nno end"));
  assertEquals(none.end, undefined);
  // A line holding a bare CR (the client sent CR CR LF) is not empty.
  const cr = new HeaderEnd();
  cr.push(bytes("From: a\n\r\nX: y\n\n"));
  assertEquals(cr.end, 16);
});

Deno.test("auth results: header fields keep their continuation lines and exact bytes", () => {
  const section = "A: 1\nB: 2\n\t2b\n  2c\nC: 3\r\n\n";
  const fields = splitHeaderFields(bytes(section)).map(text);
  assertEquals(fields, ["A: 1\n", "B: 2\n\t2b\n  2c\n", "C: 3\r\n", "\n"]);
  assertEquals(fields.join(""), section);
  assertEquals(splitHeaderFields(bytes("X: no end")).map(text), ["X: no end"]);
  assertEquals(splitHeaderFields(bytes(" leading\nA: 1\n")).map(text), [" leading\n", "A: 1\n"]);
  assertEquals(isAuthResultsField("Authentication-Results : x; none"), true);
  assertEquals(isAuthResultsField("ARC-Authentication-Results: i=1; x"), false);
});

Deno.test("auth results: one header, one method a line", () => {
  assertEquals(
    formatAuthResults("mx.example.com", ["dkim=none", "spf=pass smtp.mailfrom=a@b", "arc=none"]),
    "Authentication-Results: mx.example.com;\n dkim=none;\n spf=pass smtp.mailfrom=a@b;\n arc=none",
  );
  assertEquals(
    formatAuthResults("mx", ["dkim=pass header.i=@a\r\nX-Injected: 1"]),
    "Authentication-Results: mx;\n dkim=pass header.i=@a X-Injected: 1",
  );
  assertEquals(
    summarizeEntries([
      "dkim=pass header.i=@x",
      "spf=fail (why) smtp.mailfrom=a",
      "dmarc=fail (p=X)",
    ]),
    "dkim=pass spf=fail dmarc=fail",
  );
});

Deno.test("auth results: DMARC refuses only a fail under p=reject applied to all, with dmarcreject", () => {
  const fail = { result: "fail", domain: "example.org", policy: "reject" };
  const pass: Verdict = { kind: "pass", log: "s" };
  assertEquals(dmarcVerdict(fail, false, "s"), pass);
  assertEquals(dmarcVerdict({ ...fail, result: "pass" }, true, "s"), pass);
  assertEquals(dmarcVerdict({ ...fail, policy: "quarantine" }, true, "s"), pass);
  assertEquals(dmarcVerdict({ ...fail, pct: 50 }, true, "s"), pass);
  assertEquals(dmarcVerdict(undefined, true, "s"), pass);
  assertEquals(dmarcVerdict({ ...fail, pct: 100 }, true, "s"), {
    kind: "refuse",
    reply: ["550 5.7.1 message refused: it fails the DMARC policy of example.org"],
    rule: { check: "dmarc", source: "control/dmarcreject", entry: "example.org p=reject" },
  });
});

Deno.test("auth results: strict alignment wants the From domain itself (RFC 7489 §3.1.1)", () => {
  const relaxed = { dkim: { result: "example.org", strict: false }, spf: { strict: false } };
  assertEquals(alignedAsAsked(relaxed, "news.example.org", ["example.org"], undefined), true);
  const strict = { dkim: { result: "example.org", strict: true }, spf: { strict: true } };
  assertEquals(alignedAsAsked(strict, "news.example.org", ["example.org"], "example.org"), false);
  assertEquals(alignedAsAsked(strict, "News.Example.org", ["news.example.ORG"], undefined), true);
  assertEquals(alignedAsAsked(strict, "example.org", [], "example.org"), true);
  const mixed = { dkim: { strict: true }, spf: { result: "example.org", strict: false } };
  assertEquals(alignedAsAsked(mixed, "news.example.org", ["example.org"], "example.org"), true);
});

Deno.test("auth results: signature fields are counted once whatever the chunks", () => {
  const header =
    "DKIM-Signature: a\nX: 1\nARC-Message-Signature: i=1\n dkim-signature: not a field\n" +
    "Dkim-Signature:b\nX-DKIM-Signature: no\n";
  for (let size = 1; size <= header.length; size++) {
    const fields = new SignatureFields();
    for (let at = 0; at < header.length; at += size) {
      fields.push(bytes(header.slice(at, at + size)));
    }
    assertEquals(fields.count, 3, `chunks of ${size}`);
  }
});
