import { assertEquals } from "../../tests/assert.ts";
import { parseAntispoofing } from "../../config/filter_dns.ts";
import type { FilterRequest } from "./filter.ts";
import { ANTISPOOFING_REPLY, antispoofingCheck, ipv4Number, ruleFor } from "./antispoofing.ts";

const rules = parseAntispoofing(
  [
    { value: "dan@foo.com: 10.10.10/255.255.0.0 10.195.4", line: 1 },
    { value: "foo.com: 192.0.2.0/255.255.255.0", line: 2 },
    { value: "bar.org: 10.98.8.128", line: 3 },
  ],
  "control/antispoofing",
);

const request: FilterRequest = {
  phase: "mail",
  remoteIp: "10.10.200.1",
  env: {},
  relaying: false,
  tls: false,
  sender: "Dan@Foo.com",
  recipients: [],
  now: 0,
};

Deno.test("antispoofing: a listed sender only from its networks; an address line wins over its domain's", () => {
  const settings = { rules };
  assertEquals(antispoofingCheck.check(request, settings), { kind: "pass" });
  assertEquals(antispoofingCheck.check({ ...request, remoteIp: "10.195.4.77" }, settings), {
    kind: "pass",
  });
  const refused = antispoofingCheck.check({ ...request, remoteIp: "192.0.2.5" }, settings);
  assertEquals(refused, {
    kind: "refuse",
    reply: [ANTISPOOFING_REPLY],
    rule: {
      check: "antispoofing",
      source: "control/antispoofing",
      line: 1,
      entry: "dan@foo.com: 10.10.10/255.255.0.0 10.195.4",
    },
  });
  const other = { ...request, sender: "eve@foo.com", remoteIp: "192.0.2.5" };
  assertEquals(antispoofingCheck.check(other, settings), { kind: "pass" });
  assertEquals(
    antispoofingCheck.check({ ...other, remoteIp: "10.10.10.1" }, settings).kind,
    "refuse",
  );
  assertEquals(ruleFor(rules, "x@bar.org")?.line, 3);
});

Deno.test("antispoofing: senders not listed, <> and authenticated clients pass; IPv6 clients of a listed sender refuse", () => {
  const settings = { rules };
  const outside = { ...request, remoteIp: "203.0.113.1" };
  assertEquals(
    antispoofingCheck.check({ ...outside, sender: "a@other.example" }, settings).kind,
    "pass",
  );
  assertEquals(antispoofingCheck.check({ ...outside, sender: "" }, settings).kind, "pass");
  assertEquals(antispoofingCheck.check({ ...outside, authUser: "dan" }, settings).kind, "pass");
  assertEquals(
    antispoofingCheck.check({ ...request, remoteIp: "2001:db8::1" }, settings).kind,
    "refuse",
  );
  assertEquals(
    antispoofingCheck.check({ ...request, remoteIp: "::ffff:10.10.1.1" }, settings).kind,
    "pass",
  );
  assertEquals(ipv4Number("10.0.0.1"), 0x0a000001);
});

Deno.test("antispoofing: x.y.z.128 without a mask is a /25 (the seed's general rule)", () => {
  const settings = { rules };
  const bar = { ...request, sender: "x@bar.org" };
  assertEquals(antispoofingCheck.check({ ...bar, remoteIp: "10.98.8.200" }, settings).kind, "pass");
  assertEquals(
    antispoofingCheck.check({ ...bar, remoteIp: "10.98.8.100" }, settings).kind,
    "refuse",
  );
});
