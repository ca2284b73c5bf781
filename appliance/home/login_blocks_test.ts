import { assertEquals } from "../../tests/assert.ts";
import { setLogSink } from "../log.ts";
import { AuthFailures } from "../net/auth_failures.ts";
import {
  answerBlockRequests,
  type BlockReply,
  formatBlockRequest,
  parseBlockRequest,
  parseBlockTarget,
  summariseRemoved,
} from "./login_blocks.ts";
import { formatStatus } from "../cli/status.ts";

const LIMITS = { ipLimit: 10, accountLimit: 5, lockSeconds: 3600 };

Deno.test("unblock targets: an IP (bracketed or not), else a user name; nothing odd", () => {
  assertEquals(parseBlockTarget("192.0.2.1"), { ip: "192.0.2.1" });
  assertEquals(parseBlockTarget("[2001:db8::1]"), { ip: "2001:db8::1" });
  assertEquals(parseBlockTarget("You@Example.test"), { account: "You@Example.test" });
  assertEquals(parseBlockTarget("alice"), { account: "alice" });
  assertEquals(parseBlockTarget("::ffff:192.0.2.1"), { ip: "::ffff:192.0.2.1" });
  assertEquals(parseBlockTarget("300.1.1.1"), { account: "300.1.1.1" });
  assertEquals(parseBlockTarget("ab:cd"), { account: "ab:cd" });
  assertEquals(parseBlockTarget(""), undefined);
  assertEquals(parseBlockTarget("two words"), undefined);
  assertEquals(parseBlockTarget("a\nstatus"), undefined);
  assertEquals(parseBlockTarget("x".repeat(256)), undefined);
});

Deno.test("requests survive their file", () => {
  for (
    const request of [
      { kind: "status" as const },
      { kind: "unblock" as const, target: { ip: "192.0.2.1" } },
      { kind: "unblock" as const, target: { account: "joe@example.test" } },
    ]
  ) {
    assertEquals(parseBlockRequest(formatBlockRequest(request)), request);
  }
  assertEquals(parseBlockRequest("unblock \n"), undefined);
  assertEquals(parseBlockRequest("rm -rf /\n"), undefined);
});

Deno.test("the supervisor answers every request file, logs the unblock, ignores the rest", async () => {
  const home = await Deno.makeTempDir();
  const logged: string[] = [];
  setLogSink((record) => logged.push(`${record.event} ${record.text}`), "supervisor");
  try {
    const lock = `${home}/queue/lock`;
    Deno.mkdirSync(lock, { recursive: true });
    const table = new AuthFailures(AuthFailures.createBuffer());
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 10; i++) {
      const attempt = { ip: "192.0.2.7", account: `u${i % 2}` };
      table.reserve(attempt, now, LIMITS);
      table.settle(attempt, true, now, LIMITS);
    }
    Deno.writeTextFileSync(`${lock}/authreq.100`, "status\n");
    Deno.writeTextFileSync(`${lock}/authreq.101`, "unblock 192.0.2.7\n");
    Deno.writeTextFileSync(`${lock}/authreq.102`, "reboot\n");
    Deno.writeTextFileSync(`${lock}/sendmutex`, "");
    await answerBlockRequests(home, table);
    const names = [...Deno.readDirSync(lock)].map((entry) => entry.name).sort();
    assertEquals(names, ["authreq.100.reply", "authreq.101.reply", "sendmutex"]);
    const status = JSON.parse(Deno.readTextFileSync(`${lock}/authreq.100.reply`)) as BlockReply;
    assertEquals(status.entries.length, 3);
    assertEquals(status.entries[0].kind, "ip");
    const unblock = JSON.parse(Deno.readTextFileSync(`${lock}/authreq.101.reply`)) as BlockReply;
    assertEquals(unblock.entries, []);
    assertEquals(
      summariseRemoved(unblock.removed!, unblock.now),
      'unblocked 192.0.2.7 (10 failures), "u0" from 192.0.2.7 (5 failures), ' +
        '"u1" from 192.0.2.7 (5 failures)',
    );
    assertEquals(logged, [
      'auth_unblock status: auth_unblock 192.0.2.7: unblocked 192.0.2.7 (10 failures), "u0" from ' +
      '192.0.2.7 (5 failures), "u1" from 192.0.2.7 (5 failures)',
      `auth_request_failed alert: ${lock}/authreq.102: not a status or unblock request`,
    ]);
    const text = formatStatus(home, 42, status, { ...LIMITS, lockTrusted: false });
    assertEquals(text.split("\n").slice(2).map((line) => line.replace(/until \S+$/, "until T")), [
      "  blocked  192.0.2.7: 10 failures, until T",
      '  blocked  "u0" from 192.0.2.7: 5 failures, until T',
      '  blocked  "u1" from 192.0.2.7: 5 failures, until T',
    ]);
  } finally {
    setLogSink(() => {}, "test");
    await Deno.remove(home, { recursive: true });
  }
});
