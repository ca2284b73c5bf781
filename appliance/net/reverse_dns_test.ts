import { assertEquals } from "../../tests/assert.ts";
import { formatPtrName } from "./reverse_dns.ts";

Deno.test("PTR names for IPv4 and IPv6 addresses", () => {
  assertEquals(formatPtrName("192.0.2.10"), "10.2.0.192.in-addr.arpa");
  assertEquals(
    formatPtrName("2001:db8::1"),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
  assertEquals(formatPtrName("::1")?.startsWith("1.0.0.0"), true);
  assertEquals(formatPtrName("300.1.1.1"), undefined);
  assertEquals(formatPtrName("unknown"), undefined);
  assertEquals(formatPtrName("1:2:3"), undefined);
});
