import { assertEquals, assertThrows } from "../tests/assert.ts";
import { AUTH_FAILURE_DEFAULTS, loadAuthFailurePolicy } from "./auth_limits.ts";
import { ControlError } from "./control.ts";

Deno.test("auth limits: documented defaults, the files, 0 turns a limit off", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/control`);
    assertEquals(loadAuthFailurePolicy(home), { ...AUTH_FAILURE_DEFAULTS, lockTrusted: false });
    assertEquals(AUTH_FAILURE_DEFAULTS, { ipLimit: 10, accountLimit: 5, lockSeconds: 3600 });
    Deno.writeTextFileSync(`${home}/control/authfaillimit`, "0\n");
    Deno.writeTextFileSync(`${home}/control/authfailuserlimit`, "-3\n");
    Deno.writeTextFileSync(`${home}/control/authfaillock`, "0\n");
    Deno.writeTextFileSync(`${home}/control/authfaillocktrusted`, "1\n");
    assertEquals(loadAuthFailurePolicy(home), {
      ipLimit: 0,
      accountLimit: 0,
      lockSeconds: 1,
      lockTrusted: true,
    });
    Deno.writeTextFileSync(`${home}/control/authfaillocktrusted`, "0\n");
    assertEquals(loadAuthFailurePolicy(home).lockTrusted, false);
    Deno.writeTextFileSync(`${home}/control/authfaillimit`, "ten\n");
    assertThrows(() => loadAuthFailurePolicy(home), ControlError);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
