import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import { AuthFailures } from "./auth_failures.ts";
import { authFailureGuard, type CheckContext, checkCredentials } from "./credentials_check.ts";
import type { AuthFailurePolicy } from "../../config/auth_limits.ts";

const POLICY: AuthFailurePolicy = {
  ipLimit: 10,
  accountLimit: 5,
  lockSeconds: 3600,
  lockTrusted: false,
};

function password(user: string): Credentials {
  return { kind: "password", mechanism: "PLAIN", user, password: "not-it" };
}

/** Collects log records for the duration of `work`. */
async function withLog<T>(work: (records: LogRecord[]) => Promise<T>): Promise<T> {
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "smtpd");
  try {
    return await work(records);
  } finally {
    setLogSink(() => {}, "test");
  }
}

function context(
  table: AuthFailures,
  verify: (credentials: Credentials) => Promise<VerifyResult>,
  remoteIp = "192.0.2.44",
  policy = POLICY,
): CheckContext {
  return {
    verify,
    authFailures: authFailureGuard(table, policy, { remoteIp }),
    remoteIp,
    sessionId: "1.1",
    log: { prefix: "smtpd", event: "smtp_auth", word: "auth" },
  };
}

Deno.test("40 wrong answers at the same moment: 10 reach the verifier, 30 are refused", async () => {
  await withLog(async (records) => {
    const table = new AuthFailures(AuthFailures.createBuffer());
    let verified = 0;
    const verify = async () => {
      verified++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { ok: false as const, temporary: false, reason: "wrong password" };
    };
    const checks = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => checkCredentials(password(`user${i}@example.test`), context(table, verify)),
      ),
    );
    assertEquals(verified, 10);
    assertEquals(checks.filter((check) => check.blocked).length, 30);
    assertEquals(
      checks.filter((check) => !check.blocked).map((check) => check.recentFailures).sort(
        (a, b) => a - b,
      ),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    const blocks = records.filter((record) => record.event === "auth_block");
    assertEquals(blocks.length, 1);
    assertStringIncludes(blocks[0].text, "auth_block 192.0.2.44 after 10 failed logins, until ");
    const failed = records.filter((record) => record.event === "smtp_auth_failed");
    assertEquals(failed.length, 10);
    assertStringIncludes(failed[0].text, ": wrong password");
    assertEquals(records.filter((record) => record.event === "smtp_auth_blocked").length, 30);
  });
});

Deno.test("loopback and RELAYCLIENT clients are not counted unless authfaillocktrusted", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  assertEquals(authFailureGuard(table, POLICY, { remoteIp: "127.0.0.1" }), undefined);
  assertEquals(authFailureGuard(table, POLICY, { remoteIp: "::1" }), undefined);
  assertEquals(authFailureGuard(table, POLICY, { remoteIp: "::ffff:127.0.0.2" }), undefined);
  assertEquals(
    authFailureGuard(table, POLICY, { remoteIp: "192.0.2.1", relayClient: "" }),
    undefined,
  );
  assert(authFailureGuard(table, POLICY, { remoteIp: "192.0.2.1" }) !== undefined);
  const trusted = { ...POLICY, lockTrusted: true };
  assert(authFailureGuard(table, trusted, { remoteIp: "127.0.0.1" }) !== undefined);
  assertEquals(authFailureGuard(undefined, POLICY, { remoteIp: "192.0.2.1" }), undefined);
});

Deno.test("loopback keeps logging in after any number of failures", async () => {
  await withLog(async () => {
    const table = new AuthFailures(AuthFailures.createBuffer());
    const verify = (credentials: Credentials) =>
      Promise.resolve<VerifyResult>(
        credentials.kind === "password" && credentials.password === "right"
          ? { ok: true, user: credentials.user }
          : { ok: false, temporary: false },
      );
    for (let i = 0; i < 30; i++) {
      const check = await checkCredentials(
        password("joe@example.test"),
        context(table, verify, "127.0.0.1"),
      );
      assertEquals(check.blocked, false);
    }
    const good = await checkCredentials(
      { kind: "password", mechanism: "PLAIN", user: "joe@example.test", password: "right" },
      context(table, verify, "127.0.0.1"),
    );
    assertEquals(good.result.ok, true);
    assertEquals(table.entries(), []);
  });
});

Deno.test("a temporary failure does not count towards a block", async () => {
  await withLog(async (records) => {
    const table = new AuthFailures(AuthFailures.createBuffer());
    const verify = () =>
      Promise.resolve<VerifyResult>({
        ok: false,
        temporary: true,
        reason: "checkpassword failed: exit 111",
      });
    for (let i = 0; i < 12; i++) {
      const check = await checkCredentials(password("joe"), context(table, verify));
      assertEquals(check.blocked, false);
    }
    assertEquals(table.entries(), []);
    assertStringIncludes(records[0].text, "(temporary): checkpassword failed: exit 111");
  });
});

Deno.test("a blocked name is refused without reaching the verifier, and the log says why", async () => {
  await withLog(async (records) => {
    const table = new AuthFailures(AuthFailures.createBuffer());
    let verified = 0;
    const verify = () => {
      verified++;
      return Promise.resolve<VerifyResult>({ ok: false, temporary: false });
    };
    for (let i = 0; i < 5; i++) {
      await checkCredentials(password("Joe@Example.test"), context(table, verify));
    }
    const refused = await checkCredentials(password("joe@example.test"), context(table, verify));
    assertEquals(refused.blocked, true);
    assertEquals(verified, 5);
    const line = records.find((record) => record.event === "smtp_auth_blocked")!.text;
    assertStringIncludes(line, 'auth blocked for "joe@example.test" from 192.0.2.44: ');
    assertStringIncludes(line, ": the name at this IP is blocked until ");
    // The same IP still tries other names.
    const other = await checkCredentials(password("ann@example.test"), context(table, verify));
    assertEquals(other.blocked, false);
  });
});
