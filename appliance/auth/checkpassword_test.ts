import { assert, assertEquals } from "../../tests/assert.ts";
import {
  checkpasswordOutcome,
  formatCheckpasswordInput,
  MAX_CHECKPASSWORD_INPUT,
  runCheckpassword,
} from "./checkpassword.ts";
import type { Credentials } from "./sasl_server.ts";

const FIXTURES = new URL("../../tests/fixtures/checkpassword/", import.meta.url).pathname;
const CHECKPASSWORD = `${FIXTURES}checkpassword.sh`;
const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

const RFC_2195: Credentials = {
  kind: "cram",
  mechanism: "CRAM-MD5",
  user: "tim",
  challenge: "<1896.697170952@postoffice.reston.mci.net>",
  response: "b913a602c7eda7a495b4e6e7334d3890",
};

Deno.test("checkpassword: fd 3 layouts for PLAIN/LOGIN and CRAM; DIGEST-MD5 cannot go", () => {
  assertEquals(
    text(formatCheckpasswordInput({
      kind: "password",
      mechanism: "PLAIN",
      user: "joe",
      password: "s3cret",
    })),
    "joe\0s3cret\0\0",
  );
  assertEquals(
    text(formatCheckpasswordInput(RFC_2195)),
    "tim\0b913a602c7eda7a495b4e6e7334d3890\0<1896.697170952@postoffice.reston.mci.net>\0",
  );
  assertEquals(
    formatCheckpasswordInput({
      kind: "digest-md5",
      user: "joe",
      realm: "r",
      response: {
        username: "joe",
        realm: "r",
        nonce: "n",
        cnonce: "c",
        nc: "00000001",
        qop: "auth",
        digestUri: "smtp/r",
        response: "0".repeat(32),
        utf8: true,
      },
    }),
    undefined,
  );
  const long = (password: string) =>
    formatCheckpasswordInput({ kind: "password", mechanism: "LOGIN", user: "joe", password });
  // user NUL password NUL NUL: 6 bytes of framing around the password.
  assertEquals(long("x".repeat(MAX_CHECKPASSWORD_INPUT - 6))?.length, MAX_CHECKPASSWORD_INPUT);
  assertEquals(long("x".repeat(MAX_CHECKPASSWORD_INPUT - 5)), undefined);
  assertEquals(long("a\0b"), undefined);
});

Deno.test("checkpassword: exit statuses as checkpassword 0.90 defines them", () => {
  assertEquals(checkpasswordOutcome(0, null), "accepted");
  assertEquals(checkpasswordOutcome(1, null), "rejected");
  assertEquals(checkpasswordOutcome(2, null), "temporary");
  assertEquals(checkpasswordOutcome(111, null), "temporary");
  assertEquals(checkpasswordOutcome(0, "SIGKILL"), "temporary");
});

Deno.test("checkpassword: the program reads fd 3, stdin is /dev/null, it execs its argument", async () => {
  const dir = await Deno.makeTempDir();
  const record = `${dir}/record`;
  try {
    const input = formatCheckpasswordInput({
      kind: "password",
      mechanism: "PLAIN",
      user: "joe",
      password: "s3cret",
    })!;
    const env = { CHECKPASSWORD_RECORD: record };
    const ok = await runCheckpassword([CHECKPASSWORD, "/bin/true"], input, { env });
    assertEquals(ok, { outcome: "accepted", code: 0, signal: null, timedOut: false });
    assertEquals(await Deno.readTextFile(record), "joe|s3cret||\nstdin=0\n");

    // Right password, but the program checkpassword execs fails: checkpassword's exit status.
    assertEquals(
      (await runCheckpassword([CHECKPASSWORD, "/bin/false"], input, { env })).outcome,
      "rejected",
    );
    assertEquals(
      (await runCheckpassword([CHECKPASSWORD, "/bin/sh", "-c", "exit 111"], input, { env }))
        .outcome,
      "temporary",
    );

    const wrong = new TextEncoder().encode("joe\0S3cret\0\0");
    assertEquals((await runCheckpassword([CHECKPASSWORD, "/bin/true"], wrong)).outcome, "rejected");
    const cram = formatCheckpasswordInput(RFC_2195)!;
    assertEquals((await runCheckpassword([CHECKPASSWORD, "/bin/true"], cram)).outcome, "accepted");

    // A program that does not exist: the shell's 127, a temporary failure.
    const missing = await runCheckpassword([`${dir}/no-such-checkpassword`, "/bin/true"], input);
    assertEquals([missing.outcome, missing.code], ["temporary", 127]);
    // A program that reads nothing still runs (the write may hit a closed pipe).
    assertEquals((await runCheckpassword(["/bin/true"], input)).outcome, "accepted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpassword: a program that hangs is killed at the timeout (temporary)", async () => {
  const input = new TextEncoder().encode("joe\0s3cret\0\0");
  const run = await runCheckpassword([`${FIXTURES}sleepy.sh`, "/bin/true"], input, {
    timeoutSeconds: 1,
  });
  assertEquals([run.outcome, run.timedOut, run.signal], ["temporary", true, "SIGKILL"]);
  assert(run.code !== 0);
});
