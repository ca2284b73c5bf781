import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeInitedHome, runQmd } from "../../tests/harness.ts";

Deno.test("ipmeprint and ipmetest: loopback, moreipme and notipme, longest mask wins", async () => {
  const home = await makeInitedHome({ moreipme: "192.0.2.0/255.255.255.0", notipme: "192.0.2.7" });
  const env = { QMD_HOME: home };
  const printed = await runQmd([], { env: { ...env, QMD_ARGV0: "/var/qmail/bin/ipmeprint" } });
  assertEquals(printed.code, 0, printed.stderr);
  const lines = printed.stdout.trim().split("\n");
  assertEquals(lines.slice(0, 2), ["127.0.0.0/8", "0.0.0.0/32"]);
  assertEquals(lines.slice(-2), ["192.0.2.0/24", "not 192.0.2.7/32"]);
  const test = async (ip: string) =>
    (await runQmd([ip], { env: { ...env, QMD_ARGV0: "ipmetest" } })).stdout.trim();
  assertEquals(await test("127.0.0.1"), "me");
  assertEquals(await test("192.0.2.9"), "me");
  assertEquals(await test("192.0.2.7"), "not me", "notipme's longer mask");
  assertEquals(await test("198.51.100.1"), "not me");
  const bad = await runQmd(["ipmetest", "not-an-ip", "--home", home]);
  assertEquals(bad.code, 64);
  assertStringIncludes(bad.stderr, "is not an IP address");
});
