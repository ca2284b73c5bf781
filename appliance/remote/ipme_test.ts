import { assert, assertEquals } from "../../tests/assert.ts";
import { buildIpMe, normalizeIpv6 } from "./ipme.ts";

const INTERFACES = [
  { family: "IPv4" as const, address: "192.0.2.10" },
  { family: "IPv6" as const, address: "2001:db8::10" },
];

Deno.test("ipme: 127/8, 0.0.0.0, interfaces, moreipme (seed 001)", () => {
  const ipme = buildIpMe(
    { moreIpMe: [{ address: "198.51.100.0", prefixLength: 24 }], notIpMe: [] },
    INTERFACES,
  );
  for (
    const ip of ["127.0.0.1", "127.1.2.3", "0.0.0.0", "192.0.2.10", "198.51.100.77", "[192.0.2.10]"]
  ) {
    assert(ipme.isMe(ip), ip);
  }
  for (const ip of ["192.0.2.11", "10.0.0.1", "1.2.3.4", "not-an-ip"]) assert(!ipme.isMe(ip), ip);
  assert(ipme.isMe("2001:DB8:0:0::10"));
  assert(ipme.isMe("::1"));
  assert(!ipme.isMe("2001:db8::11"));
  assertEquals(ipme.entries.slice(0, 2), [
    { address: "127.0.0.0", prefixLength: 8 },
    { address: "0.0.0.0", prefixLength: 32 },
  ]);
});

Deno.test("ipme: the longest mask wins, ties go to notipme (seed 001 examples)", () => {
  // ipme has 127.0.0.0/8 and notipme has 127.0.0.2: 127.0.0.2 is not me.
  let ipme = buildIpMe({ moreIpMe: [], notIpMe: [{ address: "127.0.0.2", prefixLength: 32 }] }, []);
  assert(!ipme.isMe("127.0.0.2"));
  assert(ipme.isMe("127.0.0.3"));
  // notipme 127.0.0.0/8: all of 127.* is not me (equal masks → notipme).
  ipme = buildIpMe({ moreIpMe: [], notIpMe: [{ address: "127.0.0.0", prefixLength: 8 }] }, []);
  assert(!ipme.isMe("127.0.0.1"));
  // A longer moreipme entry beats a shorter notipme network.
  ipme = buildIpMe({
    moreIpMe: [{ address: "10.0.0.5", prefixLength: 32 }],
    notIpMe: [{ address: "10.0.0.0", prefixLength: 24 }],
  }, []);
  assert(ipme.isMe("10.0.0.5"));
  assert(!ipme.isMe("10.0.0.6"));
});

Deno.test("ipme: Deno.networkInterfaces() by default (needs --allow-sys)", () => {
  const ipme = buildIpMe({ moreIpMe: [], notIpMe: [] });
  assert(ipme.isMe("127.0.0.1"));
});

Deno.test("normalizeIpv6", () => {
  assertEquals(normalizeIpv6("2001:DB8::1"), "2001:db8:0:0:0:0:0:1");
  assertEquals(normalizeIpv6("::"), "0:0:0:0:0:0:0:0");
  assertEquals(normalizeIpv6("::ffff:192.0.2.1"), "0:0:0:0:0:ffff:c000:201");
  assertEquals(normalizeIpv6("fe80::1%eth0"), "fe80:0:0:0:0:0:0:1");
  assertEquals(normalizeIpv6("1.2.3.4"), undefined);
  assertEquals(normalizeIpv6("1::2::3"), undefined);
});
