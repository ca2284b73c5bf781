import { assert, assertEquals } from "../tests/assert.ts";
import { readSendConcurrency, readSendControls, readSendLocals } from "./send.ts";

Deno.test("readSendControls defaults follow qmail (§9)", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-send-controls-" });
  try {
    Deno.mkdirSync(`${home}/control`);
    Deno.writeTextFileSync(`${home}/control/me`, "me.example\n");
    const controls = readSendControls(home);
    assertEquals(controls, {
      routing: {
        envnoathost: "me.example",
        locals: ["me.example"],
        percenthack: [],
        virtualdomains: [],
      },
      concurrencyLocal: 10,
      concurrencyRemote: 20,
      queueLifetime: 604800,
      bounce: {
        bounceFrom: "MAILER-DAEMON",
        bounceHost: "me.example",
        doubleBounceRecipient: "postmaster@me.example",
        maxBytes: 50000,
      },
    });
    Deno.writeTextFileSync(`${home}/control/concurrencylocal`, "600\n");
    Deno.writeTextFileSync(`${home}/control/doublebounceto`, "admin\n");
    Deno.writeTextFileSync(`${home}/control/doublebouncehost`, "ops.example\n");
    const changed = readSendControls(home);
    assertEquals(changed.concurrencyLocal, 509, "the big-concurrency patch's limit");
    assertEquals(changed.bounce.doubleBounceRecipient, "admin@ops.example");
    Deno.removeSync(`${home}/control/me`);
    const error = await Promise.resolve().then(() => readSendControls(home)).then(
      () => undefined,
      (error) => error as Error,
    );
    assert(error?.message.includes("control/locals"));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("readSendLocals and readSendConcurrency read what SIGHUP re-reads (§4.7)", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-send-controls-" });
  try {
    Deno.mkdirSync(`${home}/control`);
    Deno.writeTextFileSync(`${home}/control/me`, "me.example\n");
    Deno.writeTextFileSync(`${home}/control/percenthack`, "ignored.example\n");
    assertEquals(readSendLocals(home), { locals: ["me.example"], virtualdomains: [] });
    assertEquals(readSendConcurrency(home), { concurrencyLocal: 10, concurrencyRemote: 20 });
    Deno.writeTextFileSync(`${home}/control/locals`, "a.example\n# comment\nb.example\n");
    Deno.writeTextFileSync(`${home}/control/virtualdomains`, "v.example:joe\n");
    Deno.writeTextFileSync(`${home}/control/concurrencyremote`, "0\n");
    assertEquals(readSendLocals(home), {
      locals: ["a.example", "b.example"],
      virtualdomains: ["v.example:joe"],
    });
    assertEquals(readSendConcurrency(home), { concurrencyLocal: 10, concurrencyRemote: 0 });
    Deno.writeTextFileSync(`${home}/control/concurrencylocal`, "-1\n");
    let error: Error | undefined;
    try {
      readSendConcurrency(home);
    } catch (caught) {
      error = caught as Error;
    }
    assert(error?.message.includes("control/concurrencylocal"));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
