import { assertEquals } from "../../tests/assert.ts";
import type { FilterClient } from "./filter_modules.ts";
import {
  ANTISPOOFING_MODULE,
  HELO_DNS_MODULE,
  MFCHECK_MODULE,
  RBL_MODULE,
  SPF_MODULE,
} from "./dns_checks.ts";
import { parseRblsmtpdOptions } from "../../config/rblsmtpd.ts";
import { parseAntispoofing } from "../../config/filter_dns.ts";

function client(env: Record<string, string> = {}, listener = "smtp"): FilterClient {
  return { env, remoteIp: "192.0.2.1", listener };
}

Deno.test("dns_checks: rbl is on for the listener with lists, or wherever RBLSMTPD holds a text", () => {
  const controls = { smtp: parseRblsmtpdOptions("-e -r bl.example", "control/rblsmtpd") };
  const smtp = RBL_MODULE.settings(controls, client()) as Record<string, unknown>;
  assertEquals(smtp.sources !== undefined && smtp.rblsmtpd === undefined, true);
  assertEquals(RBL_MODULE.settings(controls, client({}, "submission")), undefined);
  assertEquals(RBL_MODULE.settings(controls, client({ RBLSMTPD: "" }, "submission")), undefined);
  const forced = RBL_MODULE.settings({}, client({ RBLSMTPD: "-go away" }, "submission")) as {
    rblsmtpd?: string;
  };
  assertEquals(forced.rblsmtpd, "-go away");
  const trap = { smtp: parseRblsmtpdOptions("-e spam@example.net -r bl.example", "f") };
  const caught = RBL_MODULE.settings(trap, client()) as { blacklistTo?: string };
  assertEquals(caught.blacklistTo, "spam@example.net");
});

Deno.test("dns_checks: SPFBEHAVIOR and MFCHECK override their files; garbage keeps the file's", () => {
  assertEquals(SPF_MODULE.settings({ behavior: 0 }, client()), undefined);
  assertEquals(SPF_MODULE.settings({ behavior: 0 }, client({ SPFBEHAVIOR: "3" })), {
    behavior: 3,
    source: "SPFBEHAVIOR",
  });
  assertEquals(SPF_MODULE.settings({ behavior: 3 }, client({ SPFBEHAVIOR: "0" })), undefined);
  assertEquals(SPF_MODULE.settings({ behavior: 2 }, client({ SPFBEHAVIOR: "x" })), {
    behavior: 2,
    source: "control/spfbehavior",
  });
  assertEquals(SPF_MODULE.settings({ behavior: 0 }, client({ SPFBEHAVIOR: "6" })), {
    behavior: 3,
    source: "SPFBEHAVIOR",
  });
  const mf = { level: 1, timeoutSeconds: 60, mxBlacklist: ["127.0.0.1"] };
  assertEquals(MFCHECK_MODULE.settings(mf, client({ MFCHECK: "0" })), undefined);
  assertEquals(MFCHECK_MODULE.settings(mf, client({ MFCHECK: "2" })), {
    level: 2,
    source: "MFCHECK",
    timeoutSeconds: 60,
    mxBlacklist: ["127.0.0.1"],
  });
  assertEquals(MFCHECK_MODULE.settings({ ...mf, level: 0 }, client()), undefined);
});

Deno.test("dns_checks: HELODNSCHKEXT/INT override the files; NOANTISPOOFING turns antispoofing off", () => {
  const off = { external: false, internal: false };
  assertEquals(HELO_DNS_MODULE.settings(off, client()), undefined);
  assertEquals(HELO_DNS_MODULE.settings(off, client({ HELODNSCHKEXT: "1" })), {
    external: true,
    internal: false,
  });
  assertEquals(
    HELO_DNS_MODULE.settings({ external: true, internal: true }, client({ HELODNSCHKINT: "0" })),
    { external: true, internal: false },
  );
  const rules = parseAntispoofing(
    [{ value: "foo.com: 10.0.0.1", line: 1 }],
    "control/antispoofing",
  );
  assertEquals(ANTISPOOFING_MODULE.settings(rules, client()), { rules });
  assertEquals(ANTISPOOFING_MODULE.settings(rules, client({ NOANTISPOOFING: "" })), undefined);
  assertEquals(ANTISPOOFING_MODULE.settings([], client()), undefined);
});
