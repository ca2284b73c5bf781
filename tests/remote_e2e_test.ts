/**
 * Remote delivery end to end (issue 6): `qmd start` hands remote recipients
 * to the remote role, which resolves the smart host through a fake DNS zone
 * on loopback and delivers to a fake MX (nodemailer's smtp-server, an
 * independent implementation). A 5xx comes back as qmail's bounce with the
 * remote host's words; the log keeps qmail-send's delivery lines.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  addUser,
  injectAndAwaitBounce,
  makeInitedHome,
  runQmd,
  startQmd,
  waitFor,
} from "./harness.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";
import { startFakeMx } from "./fakes/fake_mx.ts";
import { RUN_FLAGS } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function homeWithRoute(dnsPort: number, mxPort: number): Promise<string> {
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", "correct horse");
  Deno.writeTextFileSync(`${home}/control/dnsservers`, `127.0.0.1:${dnsPort}\n`);
  // The smart host is found by name through the fake zone, on the fake MX's port.
  Deno.writeTextFileSync(`${home}/control/smtproutes`, `:relay.isp.test:${mxPort}\n`);
  return home;
}

Deno.test("remote: a message to a remote address reaches the smart host; a 550 bounces with its words", async () => {
  const mx = await startFakeMx({
    host: "127.0.0.2",
    rcpt: (address) =>
      address.startsWith("nobody@") ? { code: 550, text: "no such user here" } : undefined,
  });
  const dns = await startFakeDns({ "relay.isp.test": { a: ["127.0.0.2"] } });
  const home = await homeWithRoute(dns.port, mx.port);
  const qmd = await startQmd(home);
  try {
    const sent = await runQmd(
      ["inject", "--home", home, "-f", "joe@example.test", "far@remote.example"],
      { stdin: "Subject: out\n\n.a line with a dot\nend\n" },
    );
    assertEquals(sent.code, 0, sent.stderr);
    await waitFor(() => mx.messages.length > 0 ? true : undefined, 20_000, () => qmd.output());
    const message = mx.messages[0];
    assertEquals(message.sender, "joe@example.test");
    assertEquals(message.recipients, ["far@remote.example"]);
    const body = new TextDecoder().decode(message.body);
    assertStringIncludes(body, "\r\n.a line with a dot\r\nend\r\n");
    assertMatch(body, /^Received: \(qmail \d+ invoked by uid \d+\); /);
    await waitFor(
      () =>
        /delivery \d+: success: 127\.0\.0\.2_accepted_message\./.test(qmd.output()) || undefined,
      10_000,
      () => qmd.output(),
    );

    const bounce = await injectAndAwaitBounce(
      qmd,
      "joe@example.test",
      "nobody@remote.example",
      "Subject: to nobody\n\nhello\n",
    );
    const text = Deno.readTextFileSync(bounce);
    assertStringIncludes(text, "<nobody@remote.example>:\n");
    assertStringIncludes(text, "127.0.0.2 does not like recipient.\n");
    assertStringIncludes(text, "Remote host said: 550 no such user here\n");
    assertStringIncludes(text, "Giving up on 127.0.0.2.\n");
    assert(dns.queries.some((query) => query.name === "relay.isp.test"));
  } finally {
    await qmd.stop();
    await mx.close();
    await dns.close();
  }
});

Deno.test("remote: an empty control/extraremote runs bin/qmail-remote.extra under umask 077; it ends with qmd remote", async () => {
  const mx = await startFakeMx({ host: "127.0.0.3" });
  const dns = await startFakeDns({ "relay.isp.test": { a: ["127.0.0.3"] } });
  const home = await homeWithRoute(dns.port, mx.port);
  // "Set or not" (docs/patches.md seed 001): the file exists, so the wrapper is on.
  Deno.writeTextFileSync(`${home}/control/extraremote`, "");
  Deno.mkdirSync(`${home}/bin`);
  const wrapper = `${home}/bin/qmail-remote.extra`;
  Deno.writeTextFileSync(
    wrapper,
    [
      "#!/bin/sh",
      `echo "$@" > ${home}/extra-args`,
      `umask > ${home}/extra-umask`,
      `exec "${Deno.execPath()}" run ${
        RUN_FLAGS.join(" ")
      } ${ROOT}main.ts remote --home ${home} "$@"`,
    ].join("\n") + "\n",
  );
  Deno.chmodSync(wrapper, 0o755);
  const qmd = await startQmd(home);
  try {
    const sent = await runQmd(
      ["inject", "--home", home, "-f", "joe@example.test", "far@remote.example"],
      { stdin: "Subject: through the wrapper\n\nhello\n" },
    );
    assertEquals(sent.code, 0, sent.stderr);
    await waitFor(() => mx.messages.length > 0 ? true : undefined, 30_000, () => qmd.output());
    assertEquals(mx.messages[0].recipients, ["far@remote.example"]);
    assertEquals(
      Deno.readTextFileSync(`${home}/extra-args`),
      "remote.example joe@example.test far@remote.example\n",
    );
    // qmail-start's umask 077, which qmail-rspawn and so the wrapper inherit.
    assertEquals(Deno.readTextFileSync(`${home}/extra-umask`), "0077\n");
    await waitFor(
      () =>
        /delivery \d+: success: 127\.0\.0\.3_accepted_message\./.test(qmd.output()) || undefined,
      10_000,
      () => qmd.output(),
    );
  } finally {
    await qmd.stop();
    await mx.close();
    await dns.close();
  }
});
