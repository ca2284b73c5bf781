import { assertEquals } from "../../tests/assert.ts";
import { InProcessLookups } from "./in_process_lookups.ts";

Deno.test("in-process lookups: recipients as local delivery sees them, greylisting in the accounts", async () => {
  const home = await Deno.makeTempDir();
  const lookups = new InProcessLookups(home);
  try {
    await Deno.chmod(home, 0o755);
    await Deno.mkdir(`${home}/alias`, { mode: 0o755 });
    await Deno.chmod(`${home}/alias`, 0o755);
    await Deno.writeTextFile(`${home}/alias/.qmail-postmaster`, "./Maildir/\n");
    assertEquals(await lookups.answer({ kind: "recipient", address: "postmaster@mx.test" }), {
      kind: "recipient",
      deliverable: true,
    });
    assertEquals(await lookups.answer({ kind: "recipient", address: "nobody@mx.test" }), {
      kind: "recipient",
      deliverable: false,
    });
    const triplet = {
      kind: "greylist" as const,
      ip: "192.0.2.0/24",
      sender: "a@b.test",
      recipient: "postmaster@mx.test",
      delaySeconds: 3600,
      lifetimeSeconds: 86_400,
    };
    const first = await lookups.answer(triplet);
    assertEquals(first.kind === "greylist" && first.passed, false);
    const none = await lookups.answer({ ...triplet, delaySeconds: 0 });
    assertEquals(none.kind === "greylist" && none.passed, true);
    assertEquals(
      (await lookups.answer({ kind: "callback", sender: "x", timeoutSeconds: 1 })).kind,
      "temporary",
    );
  } finally {
    lookups.close();
    await Deno.remove(home, { recursive: true });
  }
});
