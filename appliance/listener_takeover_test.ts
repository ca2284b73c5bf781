import { assert, assertEquals } from "../tests/assert.ts";
import { regranted, Takeovers } from "./listener_takeover.ts";
import type { RoleSpec } from "./role_table.ts";

function spec(name: "smtpd" | "pop3d" | "send", run: string[] | false): RoleSpec {
  return {
    name,
    module: new URL("./roles/smtpd.ts", import.meta.url),
    count: 1,
    permissions: { read: ["/home"], run },
    options: () => ({ role: "send", remoteDelivery: true }),
  } as RoleSpec;
}

Deno.test("regranted: a listener spec with the permissions its role has now, or nothing", () => {
  const smtpd = spec("smtpd", false);
  const fresh = [
    spec("smtpd", ["/bin/sh", "/usr/bin/check"]),
    spec("pop3d", false),
    spec("send", ["x"]),
  ];
  const changed = regranted(smtpd, fresh);
  assertEquals(changed?.permissions.run, ["/bin/sh", "/usr/bin/check"]);
  assert(changed?.options === smtpd.options, "the spec's options (and shared tables) are kept");
  assertEquals(regranted(spec("pop3d", false), fresh), undefined, "unchanged");
  assertEquals(regranted(spec("send", false), fresh), undefined, "not a listener");
});

Deno.test("Takeovers: a successor per isolate, numbered past the role's; the old drains when it is ready", () => {
  const takeovers = new Takeovers<{ spec: RoleSpec; index: number }>();
  const smtpd = spec("smtpd", false);
  const one = { spec: smtpd, index: 1 };
  const two = { spec: smtpd, index: 2 };
  const plan = takeovers.plan([one, two], [spec("smtpd", ["/bin/sh", "/x"])]);
  assertEquals(plan.map(({ old, index }) => [old.index, index]), [[1, 3], [2, 4]]);
  const successor = { spec: plan[0].spec, index: 3 };
  takeovers.begin(one, successor);
  assert(takeovers.replaced(one));
  assertEquals(
    takeovers.plan([one, two, successor], [spec("smtpd", ["/bin/sh", "/y"])]).length,
    2,
    "one is not planned twice",
  );
  assertEquals(takeovers.ready(two), undefined, "not a successor");
  assertEquals(takeovers.ready(successor), one);
  assert(takeovers.retired(one), "the old isolate retires once drained");
  assert(!takeovers.retired(one));
  assert(!takeovers.replaced(one));
});
