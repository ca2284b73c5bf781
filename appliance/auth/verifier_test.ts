import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { AccountStore } from "../accounts/store.ts";
import type { MechanismName } from "./mechanisms.ts";
import { SaslClient } from "./sasl_client.ts";
import { type Credentials, SaslServer, type SaslStep } from "./sasl_server.ts";
import {
  accountsVerifier,
  type AuthVerifier,
  chainVerifiers,
  checkpasswordVerifier,
} from "./verifier.ts";

const CHECKPASSWORD = new URL(
  "../../tests/fixtures/checkpassword/checkpassword.sh",
  import.meta.url,
).pathname;

const MECHANISMS: MechanismName[] = [
  "LOGIN",
  "PLAIN",
  "CRAM-MD5",
  "CRAM-SHA1",
  "CRAM-RIPEMD",
  "DIGEST-MD5",
];

const OPTIONS = {
  challenge: "<4711.1700000000@mail.example.com>",
  hostname: "mail.example.com",
  nonce: "n0nce-for-tests",
  service: "smtp",
};

/** One AUTH exchange, our client against our server, checked by `verifier`. */
async function authenticate(
  verifier: AuthVerifier,
  mechanism: MechanismName,
  user: string,
  password: string,
): Promise<SaslStep> {
  const client = new SaslClient(mechanism, {
    user,
    password,
    service: "smtp",
    host: "mail.example.com",
    cnonce: "c-n0nce",
  });
  const server = new SaslServer(mechanism, OPTIONS);
  let step = server.start(client.initialResponse());
  for (let round = 0; round < 5; round++) {
    if (step.kind === "challenge") step = server.receive(client.respond(step.data));
    else if (step.kind === "verify") {
      step = server.verified(await verifier.verify(step.credentials));
    } else return step;
  }
  throw new Error("exchange did not end");
}

async function withAccounts(fn: (home: string) => Promise<void>) {
  const home = await Deno.makeTempDir();
  try {
    const store = AccountStore.open(home);
    try {
      store.addDomain("example.com");
      store.addMailbox("joe@example.com", "s3cret-joe", { challengeAuth: true });
      store.addMailbox("ann@example.com", "s3cret-ann");
    } finally {
      store.close();
    }
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const success = (user: string): SaslStep => ({ kind: "success", user });
const rejected: SaslStep = { kind: "failure", reason: "rejected" };

Deno.test("accounts verifier: all six mechanisms for a mailbox with challenge auth", async () => {
  await withAccounts(async (home) => {
    const verifier = accountsVerifier(home);
    try {
      for (const mechanism of MECHANISMS) {
        assertEquals(
          await authenticate(verifier, mechanism, "Joe@Example.COM", "s3cret-joe"),
          success("joe@example.com"),
          mechanism,
        );
        assertEquals(
          await authenticate(verifier, mechanism, "joe@example.com", "wrong"),
          rejected,
          mechanism,
        );
        assertEquals(
          await authenticate(verifier, mechanism, "nobody@example.com", "s3cret-joe"),
          rejected,
          mechanism,
        );
      }
    } finally {
      verifier.close();
    }
  });
});

Deno.test("accounts verifier: without challenge auth only PLAIN and LOGIN work", async () => {
  await withAccounts(async (home) => {
    const verifier = accountsVerifier(home);
    try {
      for (const mechanism of MECHANISMS) {
        const expected = mechanism === "LOGIN" || mechanism === "PLAIN"
          ? success("ann@example.com")
          : rejected;
        assertEquals(
          await authenticate(verifier, mechanism, "ann@example.com", "s3cret-ann"),
          expected,
          mechanism,
        );
      }
      // Turning it on later with qmd user passwd --challenge-auth: seen by the open verifier.
      const store = AccountStore.open(home);
      store.setPassword("ann@example.com", "s3cret-ann", { challengeAuth: true });
      store.close();
      assertEquals(
        await authenticate(verifier, "CRAM-MD5", "ann@example.com", "s3cret-ann"),
        success("ann@example.com"),
      );
      // Bare names are never accounts' users.
      assertEquals(
        await verifier.verifyIfKnown({
          kind: "password",
          mechanism: "PLAIN",
          user: "ann",
          password: "s3cret-ann",
        }),
        undefined,
      );
    } finally {
      verifier.close();
    }
  });
});

Deno.test("accounts verifier: a home without a database knows nobody, then finds it", async () => {
  const home = await Deno.makeTempDir();
  const verifier = accountsVerifier(home);
  try {
    const credentials: Credentials = {
      kind: "password",
      mechanism: "PLAIN",
      user: "joe@example.com",
      password: "pw",
    };
    assertEquals(await verifier.verify(credentials), {
      ok: false,
      temporary: false,
      reason: "no such mailbox",
    });
    assertEquals(await verifier.verifyIfKnown(credentials), undefined);
    assertEquals(verifier.hasChallengeSecrets(), false);
    const store = AccountStore.open(home);
    store.addDomain("example.com");
    store.addMailbox("joe@example.com", "pw");
    store.close();
    assertEquals(await verifier.verify(credentials), {
      ok: true,
      user: "joe@example.com",
      home: `${home}/mail/example.com/joe`,
    });
  } finally {
    verifier.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("accounts verifier: an unreadable database is a temporary failure", async () => {
  const home = await Deno.makeTempDir();
  const verifier = accountsVerifier(home);
  try {
    await Deno.writeTextFile(`${home}/accounts.sqlite`, "this is not a database, just text\n");
    const result = await verifier.verify({
      kind: "password",
      mechanism: "LOGIN",
      user: "joe@example.com",
      password: "pw",
    });
    assertEquals(result.ok, false);
    assertEquals(!result.ok && result.temporary, true);
    assertMatch(!result.ok && result.reason || "", /^cannot read the accounts database: /);
  } finally {
    verifier.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("accounts verifier: a challenge login on a mailbox without a secret says why", async () => {
  await withAccounts(async (home) => {
    const verifier = accountsVerifier(home);
    try {
      const cram = await verifier.verify({
        kind: "cram",
        mechanism: "CRAM-MD5",
        user: "ann@example.com",
        challenge: OPTIONS.challenge,
        response: "0".repeat(32),
      });
      assertEquals(cram, {
        ok: false,
        temporary: false,
        reason: "mailbox has no challenge secret: use `qmd user passwd --challenge-auth`",
      });
      const apop = await verifier.verify({
        kind: "apop",
        user: "ann@example.com",
        timestamp: OPTIONS.challenge,
        digest: "0".repeat(32),
      });
      assertEquals(apop, cram);
      const wrong = await verifier.verify({
        kind: "password",
        mechanism: "PLAIN",
        user: "ann@example.com",
        password: "wrong",
      });
      assertEquals(wrong, { ok: false, temporary: false, reason: "wrong password" });
    } finally {
      verifier.close();
    }
  });
});

Deno.test("accounts verifier: hasChallengeSecrets follows --challenge-auth", async () => {
  const home = await Deno.makeTempDir();
  const verifier = accountsVerifier(home);
  try {
    const store = AccountStore.open(home);
    store.addDomain("example.com");
    store.addMailbox("ann@example.com", "s3cret-ann");
    assertEquals(verifier.hasChallengeSecrets(), false);
    store.setPassword("ann@example.com", "s3cret-ann", { challengeAuth: true });
    assertEquals(verifier.hasChallengeSecrets(), true);
    store.setPassword("ann@example.com", "s3cret-ann");
    store.close();
    assertEquals(verifier.hasChallengeSecrets(), false);
  } finally {
    verifier.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("checkpassword verifier: PLAIN, LOGIN and CRAM through fd 3; DIGEST-MD5 refused", async () => {
  const verifier = checkpasswordVerifier([CHECKPASSWORD, "/bin/true"]);
  assertEquals(await authenticate(verifier, "PLAIN", "joe", "s3cret"), success("joe"));
  assertEquals(await authenticate(verifier, "LOGIN", "joe", "s3cret"), success("joe"));
  assertEquals(await authenticate(verifier, "LOGIN", "joe", "wrong"), rejected);
  assertEquals(await authenticate(verifier, "DIGEST-MD5", "joe", "s3cret"), rejected);
  // RFC 2195's example, which the fixture knows.
  assertEquals(
    await verifier.verify({
      kind: "cram",
      mechanism: "CRAM-MD5",
      user: "tim",
      challenge: "<1896.697170952@postoffice.reston.mci.net>",
      response: "b913a602c7eda7a495b4e6e7334d3890",
    }),
    { ok: true, user: "tim" },
  );
  const broken = checkpasswordVerifier([CHECKPASSWORD, "/bin/sh", "-c", "exit 111"]);
  assertEquals(await authenticate(broken, "PLAIN", "joe", "s3cret"), {
    kind: "failure",
    reason: "temporary",
  });
  const hanging = checkpasswordVerifier(
    [new URL("../../tests/fixtures/checkpassword/sleepy.sh", import.meta.url).pathname],
    { timeoutSeconds: 1 },
  );
  assertEquals(await authenticate(hanging, "PLAIN", "joe", "s3cret"), {
    kind: "failure",
    reason: "temporary",
  });
});

Deno.test("chain: accounts decide their addresses; everyone else goes to checkpassword", async () => {
  await withAccounts(async (home) => {
    const accounts = accountsVerifier(home);
    const seen: string[] = [];
    const checkpassword = checkpasswordVerifier([CHECKPASSWORD, "/bin/true"]);
    const recording: AuthVerifier = {
      verify(credentials) {
        seen.push(credentials.user);
        return checkpassword.verify(credentials);
      },
    };
    try {
      const chain = chainVerifiers(accounts, recording);
      assertEquals(
        await authenticate(chain, "PLAIN", "joe@example.com", "s3cret-joe"),
        success("joe@example.com"),
      );
      // A wrong password for an account is final: checkpassword is not asked.
      assertEquals(await authenticate(chain, "PLAIN", "joe@example.com", "s3cret"), rejected);
      assertEquals(seen, []);
      assertEquals(await authenticate(chain, "PLAIN", "joe", "s3cret"), success("joe"));
      assertEquals(await authenticate(chain, "LOGIN", "nobody@example.com", "x"), rejected);
      assertEquals(seen, ["joe", "nobody@example.com"]);

      // Without checkpassword the accounts verifier alone rejects the rest.
      const alone = chainVerifiers(accounts, undefined);
      assertEquals(await authenticate(alone, "PLAIN", "joe", "s3cret"), rejected);
      // close() reaches the accounts database through the chain; it reopens on demand.
      chain.close?.();
      assertEquals(
        await authenticate(chain, "CRAM-SHA1", "joe@example.com", "s3cret-joe"),
        success("joe@example.com"),
      );
    } finally {
      accounts.close();
    }
  });
});

Deno.test("verifiers never put a password in an error or result", async () => {
  await withAccounts(async (home) => {
    const verifier = accountsVerifier(home);
    try {
      const result = await verifier.verify({
        kind: "password",
        mechanism: "PLAIN",
        user: "joe@example.com",
        password: "s3cret-joe",
      });
      assertMatch(
        JSON.stringify(result),
        /^\{"ok":true,"user":"joe@example.com","home":"[^"]+\/mail\/example.com\/joe"\}$/,
      );
    } finally {
      verifier.close();
    }
  });
});

Deno.test("checkpassword verifier: for POP3 the home comes from the program's directory", async () => {
  const script = new URL("../../tests/fixtures/checkpassword/checkpassword.sh", import.meta.url)
    .pathname;
  const home = await Deno.makeTempDir();
  const verifier = checkpasswordVerifier([script, "/bin/true"], {
    reportHome: true,
    env: { HOME: home },
  });
  const result = await verifier.verify({
    kind: "password",
    mechanism: "USER",
    user: "joe",
    password: "s3cret",
  });
  assertEquals(result.ok, true);
  assertEquals(result.ok && typeof result.home === "string" && result.home.startsWith("/"), true);
  await Deno.remove(home, { recursive: true });
});
