import { assertEquals } from "../../tests/assert.ts";
import { parseEhloCapabilities } from "./ehlo_capabilities.ts";

Deno.test("client: EHLO capabilities, keywords in any case, both AUTH forms", () => {
  assertEquals(
    parseEhloCapabilities([
      "250-mx",
      "250-size 1000",
      "250-AUTH=LOGIN",
      "250-auth plain login",
      "250 STARTTLS",
    ]),
    {
      esmtp: true,
      size: 1000,
      pipelining: false,
      eightBitMime: false,
      startTls: true,
      auth: ["LOGIN", "PLAIN"],
    },
  );
});
