import { assertEquals, assertThrows } from "../tests/assert.ts";
import { withControlFiles } from "./test_home.ts";
import { ControlError } from "./control.ts";
import { loadFilterDnsControls, parseAntispoofing, parseNetwork } from "./filter_dns.ts";

function withHome(files: Record<string, string>, body: (home: string) => void): Promise<void> {
  return withControlFiles(files, body, "qmd-filter-dns-");
}

Deno.test("filter_dns: the files as written", async () => {
  await withHome({
    spfbehavior: "3\n",
    mfcheck: "2\n",
    timeoutmfcheck: "15\n",
    mxblacklist: "# loopback MX\n127.0.0.1\n[::1]\n",
    helodnschkext: "1\n",
    helodnschkint: "0\n",
    antispoofing: "bar.org: 10.98.8.3\n",
  }, (home) => {
    const controls = loadFilterDnsControls(home);
    assertEquals(controls.spf, { behavior: 3 });
    assertEquals(controls.mfcheck, {
      level: 2,
      timeoutSeconds: 15,
      mxBlacklist: ["127.0.0.1", "::1"],
    });
    assertEquals(controls.heloDnsCheck, { external: true, internal: false });
    assertEquals(controls.antispoofing[0].sender, "bar.org");
    assertEquals(controls.antispoofing[0].line, 1);
  });
});

Deno.test("filter_dns: out-of-range levels and bad lines are ControlErrors naming file and line", async () => {
  for (
    const [name, text, message] of [
      ["spfbehavior", "4\n", /control\/spfbehavior line 1: expected 0 to 3/],
      ["mfcheck", "3\n", /control\/mfcheck line 1: expected 0 to 2/],
      ["mxblacklist", "127.0.0.1\nmx.example\n", /control\/mxblacklist line 2/],
      ["antispoofing", "\nfoo.com 10.0.0.1\n", /control\/antispoofing line 2/],
      ["antispoofing", "foo.com: 10.0.0.300\n", /not a network/],
    ] as const
  ) {
    await withHome({ [name]: text }, (home) => {
      const error = assertThrows(() => loadFilterDnsControls(home), ControlError);
      assertEquals(message.test(error.message), true, error.message);
    });
  }
});

Deno.test("filter_dns: seed 001's networks", () => {
  const net = (text: string) => {
    const network = parseNetwork(text);
    if (network === undefined) return undefined;
    const dotted = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
    return `${dotted(network.address)}/${dotted(network.mask)}`;
  };
  assertEquals(net("10.10.10/255.255.0.0"), "10.10.0.0/255.255.0.0");
  assertEquals(net("10.195.4"), "10.195.4.0/255.255.255.0");
  assertEquals(net("1.2.3.128"), "1.2.3.128/255.255.255.128");
  assertEquals(net("10.98.8.3"), "10.98.8.3/255.255.255.255");
  // 10 is 1010 in binary: its right-hand zero bit counts too.
  assertEquals(net("10.0.0.0"), "10.0.0.0/254.0.0.0");
  assertEquals(net("10.0.0.0/24"), undefined);
  assertEquals(net("1.2.3.4.5"), undefined);
  const rules = parseAntispoofing([{
    value: "Dan@Foo.com: 10.10.10/255.255.0.0 10.195.4",
    line: 7,
  }], "f");
  assertEquals(rules[0].sender, "dan@foo.com");
  assertEquals(rules[0].networks.length, 2);
});
