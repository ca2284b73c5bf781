import { assertEquals, assertThrows } from "../tests/assert.ts";
import { withControlFiles } from "./test_home.ts";
import { loadAuthResultsControls } from "./auth_results.ts";
import { ControlError } from "./control.ts";

function withControls(files: Record<string, string>, body: (home: string) => void): Promise<void> {
  return withControlFiles(files, body, "qmd-auth-results-controls-");
}

Deno.test("auth results controls: on by default but for loopback clients, control/me names us, dmarcreject marks", async () => {
  await withControls({ me: "mx.example.test\n" }, (home) => {
    assertEquals(loadAuthResultsControls(home), {
      enabled: true,
      loopback: false,
      authServId: "mx.example.test",
      dmarcReject: false,
    });
  });
  await withControls(
    {
      me: "mx.example.test\n",
      authresults: "1\n",
      authservid: "auth.example.test\n",
      dmarcreject: "1\n",
    },
    (home) => {
      assertEquals(loadAuthResultsControls(home), {
        enabled: true,
        loopback: true,
        authServId: "auth.example.test",
        dmarcReject: true,
      });
    },
  );
  await withControls({ authresults: "0\n", authservid: "\n" }, (home) => {
    const controls = loadAuthResultsControls(home);
    assertEquals(controls.enabled, false);
    assertEquals(controls.loopback, false);
    assertEquals(controls.authServId.length > 0, true, "the host name without me");
  });
});

Deno.test("auth results controls: an authservid that is not one token is refused", async () => {
  for (const bad of ["two words", "semi;colon", "(comment)", 'quo"te']) {
    await withControls({ authservid: `${bad}\n` }, (home) => {
      assertThrows(() => loadAuthResultsControls(home), ControlError);
    });
  }
});
