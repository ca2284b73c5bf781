import { createHmac } from "node:crypto";
import { assertEquals } from "../../tests/assert.ts";
import { apopDigest, cramDigest, cramDigestLength, parseCramResponse } from "./cram.ts";

Deno.test("cram: RFC 2195 §2 CRAM-MD5 example", () => {
  assertEquals(
    cramDigest("CRAM-MD5", "tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"),
    "b913a602c7eda7a495b4e6e7334d3890",
  );
});

Deno.test("cram: HMAC-SHA1 (RFC 2202 case 2) and HMAC-RIPEMD-160 (RFC 2286 case 2)", () => {
  const data = "what do ya want for nothing?";
  assertEquals(cramDigest("CRAM-SHA1", "Jefe", data), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  assertEquals(
    cramDigest("CRAM-RIPEMD", "Jefe", data),
    "dda6c0213a485a9e24f4742064a7f033b43c4069",
  );
  // And the same as node:crypto computes directly.
  assertEquals(
    cramDigest("CRAM-RIPEMD", "Jefe", data),
    createHmac("ripemd160", "Jefe").update(data).digest("hex"),
  );
  assertEquals(
    [cramDigestLength("CRAM-MD5"), cramDigestLength("CRAM-SHA1"), cramDigestLength("CRAM-RIPEMD")],
    [32, 40, 40],
  );
});

Deno.test("cram: responses split at the last space; digest length and hex checked", () => {
  const md5 = "b913a602c7eda7a495b4e6e7334d3890";
  assertEquals(parseCramResponse("CRAM-MD5", `tim ${md5}`), { user: "tim", digest: md5 });
  assertEquals(parseCramResponse("CRAM-MD5", `tim ${md5.toUpperCase()}`), {
    user: "tim",
    digest: md5,
  });
  assertEquals(parseCramResponse("CRAM-MD5", `john smith ${md5}`), {
    user: "john smith",
    digest: md5,
  });
  for (
    const bad of [
      md5,
      ` ${md5}`,
      `tim ${md5.slice(1)}`,
      `tim ${md5}0`,
      `tim ${md5.slice(1)}g`,
      `tim\0x ${md5}`,
      "tim",
      "",
    ]
  ) {
    assertEquals(parseCramResponse("CRAM-MD5", bad), undefined, JSON.stringify(bad));
  }
  assertEquals(parseCramResponse("CRAM-SHA1", `tim ${md5}`), undefined);
  assertEquals(parseCramResponse("CRAM-SHA1", `tim ${"a".repeat(40)}`)?.digest, "a".repeat(40));
});

Deno.test("apop: RFC 1939 §7 example digest", () => {
  assertEquals(
    apopDigest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
    "c4c9334bac560ecc979e58001b3e22fb",
  );
});
