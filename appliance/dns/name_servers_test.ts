import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { ControlError } from "../../config/control.ts";
import {
  isIpv6,
  loadNameServers,
  loadSystemNameServers,
  parseNameServer,
  parseResolvConf,
} from "./name_servers.ts";

Deno.test("name servers: control/dnsservers line forms", () => {
  assertEquals(parseNameServer("127.0.0.1"), { ipAddr: "127.0.0.1", port: 53 });
  assertEquals(parseNameServer("127.0.0.1:5353"), { ipAddr: "127.0.0.1", port: 5353 });
  assertEquals(parseNameServer("[::1]:5353"), { ipAddr: "::1", port: 5353 });
  assertEquals(parseNameServer("[2001:db8::53]"), { ipAddr: "2001:db8::53", port: 53 });
  assertEquals(parseNameServer("2001:db8::53"), { ipAddr: "2001:db8::53", port: 53 });
  assertEquals(typeof parseNameServer("dns.example"), "string");
  assertEquals(typeof parseNameServer("127.0.0.1:0"), "string");
  assertEquals(typeof parseNameServer("127.0.0.1:70000"), "string");
  assertEquals(typeof parseNameServer("[127.0.0.1]:53"), "string");
  assertEquals(typeof parseNameServer("256.0.0.1"), "string");
});

Deno.test("name servers: IPv6 syntax", () => {
  assertEquals(isIpv6("::1"), true);
  assertEquals(isIpv6("::ffff:192.0.2.1"), true);
  assertEquals(isIpv6("1:2:3:4:5:6:7:8"), true);
  assertEquals(isIpv6("1:2:3:4:5:6:7:8:9"), false);
  assertEquals(isIpv6("1::2::3"), false);
  assertEquals(isIpv6("1:2:3"), false);
});

Deno.test("name servers: resolv.conf nameserver lines, port 53, at most three", () => {
  const text = [
    "# comment",
    "search example.com",
    "nameserver 10.0.0.1",
    "nameserver fe80::1%eth0",
    "nameserver bogus",
    "  nameserver 10.0.0.2 ; trailing comment",
    "nameserver 10.0.0.3",
    "",
  ].join("\n");
  assertEquals(parseResolvConf(text), [
    { ipAddr: "10.0.0.1", port: 53 },
    { ipAddr: "fe80::1", port: 53 },
    { ipAddr: "10.0.0.2", port: 53 },
  ]);
});

Deno.test("name servers: dnsservers first, then resolv.conf, then 127.0.0.1", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/control`);
    const conf = `${home}/resolv.conf`;
    await Deno.writeTextFile(conf, "nameserver 10.9.9.9\n");
    assertEquals(loadNameServers(home, conf), [{ ipAddr: "10.9.9.9", port: 53 }]);
    assertEquals(loadNameServers(home, `${home}/absent`), [{ ipAddr: "127.0.0.1", port: 53 }]);
    assertEquals(loadSystemNameServers(conf), [{ ipAddr: "10.9.9.9", port: 53 }]);
    await Deno.writeTextFile(`${home}/control/dnsservers`, "# only comments\n\n");
    assertEquals(loadNameServers(home, conf), [{ ipAddr: "10.9.9.9", port: 53 }]);
    await Deno.writeTextFile(
      `${home}/control/dnsservers`,
      "# ours\n127.0.0.1:5353\n[::1]:5300\n192.0.2.53\n",
    );
    assertEquals(loadNameServers(home, conf), [
      { ipAddr: "127.0.0.1", port: 5353 },
      { ipAddr: "::1", port: 5300 },
      { ipAddr: "192.0.2.53", port: 53 },
    ]);
    await Deno.writeTextFile(`${home}/control/dnsservers`, "127.0.0.1\nnot-an-ip\n");
    const error = assertThrows(() => loadNameServers(home, conf), ControlError);
    assertEquals((error as ControlError).line, 2);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
