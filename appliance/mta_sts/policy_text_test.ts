import { assertEquals } from "../../tests/assert.ts";
import {
  formatStsPolicy,
  mxMatchesPolicy,
  parseStsPolicy,
  parseStsRecord,
  stsPolicyId,
} from "./policy_text.ts";

Deno.test("MTA-STS record: one v=STSv1 record with an id (RFC 8461 §3.1)", () => {
  assertEquals(parseStsRecord(["v=STSv1; id=20160831085700Z;"]), {
    ok: true,
    id: "20160831085700Z",
  });
  assertEquals(parseStsRecord(["v=spf1 -all"]).ok, false);
  assertEquals(parseStsRecord(["v=STSv1; id=a", "v=STSv1; id=b"]).ok, false);
  assertEquals(parseStsRecord(["v=STSv1; id=has-dash"]).ok, false);
  assertEquals(parseStsRecord(["v=STSv1"]).ok, false);
  assertEquals(parseStsRecord(["v=STSv10; id=1"]).ok, false);
});

Deno.test("MTA-STS policy: strict fields (RFC 8461 §3.2)", () => {
  const text = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n" +
    "mx: backupmx.example.com\nmax_age: 604800\nextension: ignored\n";
  assertEquals(parseStsPolicy(text), {
    ok: true,
    policy: {
      mode: "enforce",
      maxAge: 604800,
      mx: ["mail.example.com", "*.example.net", "backupmx.example.com"],
    },
  });
  assertEquals(parseStsPolicy(text.replace("STSv1", "STSv2")).ok, false);
  assertEquals(parseStsPolicy(text.replace("enforce", "strict")).ok, false);
  assertEquals(parseStsPolicy(text.replace("604800", "31557601")).ok, false);
  assertEquals(parseStsPolicy(text.replace("604800", "-1")).ok, false);
  assertEquals(parseStsPolicy("version: STSv1\nmode: enforce\nmax_age: 5\n").ok, false);
  assertEquals(parseStsPolicy("version: STSv1\r\nmode: none\r\nmax_age: 5\r\n").ok, true);
  assertEquals(parseStsPolicy("<html>not found</html>").ok, false);
});

Deno.test("MTA-STS mx patterns: a wildcard is exactly one label (RFC 8461 §4.1)", () => {
  const patterns = ["mail.example.com", "*.example.net"];
  assertEquals(mxMatchesPolicy("MAIL.example.com.", patterns), true);
  assertEquals(mxMatchesPolicy("mx1.example.net", patterns), true);
  assertEquals(mxMatchesPolicy("a.b.example.net", patterns), false);
  assertEquals(mxMatchesPolicy("example.net", patterns), false);
  assertEquals(mxMatchesPolicy("mail.example.com.evil.test", patterns), false);
});

Deno.test("MTA-STS served policy: the text parses back and its id follows the text", async () => {
  const policy = { mode: "enforce" as const, maxAge: 86400, mx: ["mx.example.org"] };
  const text = formatStsPolicy(policy);
  assertEquals(parseStsPolicy(text), { ok: true, policy });
  const id = await stsPolicyId(text);
  assertEquals(/^[0-9a-f]{20}$/.test(id), true);
  assertEquals(await stsPolicyId(text), id);
  const other = await stsPolicyId(formatStsPolicy({ ...policy, mode: "testing" }));
  assertEquals(other === id, false);
});
