/**
 * Backscatter (issue 13): under `qmd start`, a message to an unknown user of
 * a virtual domain is refused at RCPT with realrcptto's 550, so nothing is
 * queued and no bounce goes to the (forged) sender; the mailbox that exists
 * gets its mail; with control/realrcptto 0 the same RCPT is accepted, as
 * plain qmail would, which shows the refusal is realrcptto's. The other
 * recipient checks go through the running appliance's roles as well:
 * rcptcheck's program is run by smtpd (its run permission), greylisting's
 * triplets are kept by auth in accounts.sqlite.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { GreylistStore } from "../appliance/accounts/greylist_store.ts";
import {
  addUser,
  maildirNew,
  makeInitedHome,
  runQmd,
  sendMessage,
  SmtpClient,
  startQmd,
  waitFor,
} from "./harness.ts";

const EMPTY_QUEUE = "messages in queue: 0\nmessages in queue but not yet preprocessed: 0\n";

/** Every file under the queue's message directories (mess/N/...). */
function queuedMessages(home: string): string[] {
  const mess = `${home}/queue/mess`;
  return [...Deno.readDirSync(mess)].flatMap((dir) =>
    [...Deno.readDirSync(`${mess}/${dir.name}`)].map((file) => `${dir.name}/${file.name}`)
  );
}

async function rcptReply(port: number, recipient: string): Promise<string> {
  const client = await SmtpClient.connect(port);
  try {
    await client.reply();
    await client.command("HELO spammer.example");
    assertMatch(await client.command("MAIL FROM:<forged@victim.example>"), /^250 /);
    const reply = await client.command(`RCPT TO:<${recipient}>`);
    if (reply.startsWith("421")) return reply; // the server has hung up
    const data = await client.command("DATA");
    if (data.startsWith("354")) {
      await client.send("Subject: spam\r\n\r\nbuy\r\n.\r\n");
      await client.reply();
    }
    await client.command("QUIT").catch(() => "");
    return reply;
  } finally {
    client.close();
  }
}

Deno.test("e2e backscatter: an unknown user of a virtual domain is refused at RCPT, nothing queued", async () => {
  const home = await makeInitedHome();
  await addUser(home, "joe@virtual.example", "pw");
  const qmd = await startQmd(home);
  try {
    const refused = await rcptReply(qmd.port, "nobody@virtual.example");
    assertMatch(refused, /^550 /);
    assertStringIncludes(refused, "sorry, no mailbox here by that name. (#5.1.1)");
    // Nothing was queued, so there is nothing to bounce.
    assertEquals(queuedMessages(home), []);
    assertEquals((await runQmd(["qstat", "--home", home])).stdout, EMPTY_QUEUE);
    assertEquals(maildirNew(`${home}/alias/Maildir`), []);

    // The mailbox that exists gets its mail, through the same appliance.
    const accepted = await sendMessage(
      qmd.port,
      "friend@sender.example",
      ["joe@virtual.example"],
      "Subject: hello\n\nhi\n",
    );
    assertMatch(accepted, /^250 /);
    const maildir = `${home}/mail/virtual.example/joe/Maildir`;
    await waitFor(
      () => maildirNew(maildir).length === 1 || undefined,
      20_000,
      () => `delivery to joe\n${qmd.output()}`,
    );
    assertEquals(maildirNew(`${home}/alias/Maildir`), []);
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e backscatter: a deleted mailbox is refused at RCPT at once (qmd user del reloads)", async () => {
  const home = await makeInitedHome();
  await addUser(home, "joe@virtual.example", "pw");
  const qmd = await startQmd(home, { workers: 1 });
  try {
    // Twice: the second "yes" comes from the smtpd isolate's cache (net/deliverable_cache.ts).
    assertMatch(await rcptReply(qmd.port, "joe@virtual.example"), /^250 /);
    assertMatch(await rcptReply(qmd.port, "joe@virtual.example"), /^250 /);
    const reloads = qmd.output().split("reloaded control files").length;
    assertEquals((await runQmd(["user", "del", "joe@virtual.example", "--home", home])).code, 0);
    await waitFor(
      () => qmd.output().split("reloaded control files").length > reloads || undefined,
      20_000,
      () => `the reload after qmd user del\n${qmd.output()}`,
    );
    assertMatch(await rcptReply(qmd.port, "joe@virtual.example"), /^550 /);
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e backscatter: with control/realrcptto 0 the unknown user is accepted (and bounced later)", async () => {
  const home = await makeInitedHome({ realrcptto: "0" });
  await addUser(home, "joe@virtual.example", "pw");
  const qmd = await startQmd(home);
  try {
    assertMatch(await rcptReply(qmd.port, "nobody@virtual.example"), /^250 /);
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e recipient checks: rcptcheck runs in smtpd, greylisting is kept by auth", async () => {
  const program = new URL("./fixtures/rcptcheck/exit_code.sh", import.meta.url).pathname;
  // realrcptto off: the program alone decides for these made-up addresses.
  const home = await makeInitedHome({ rcptcheck: program, realrcptto: "0" });
  await addUser(home, "joe@virtual.example", "pw");
  const qmd = await startQmd(home);
  try {
    assertEquals(
      await rcptReply(qmd.port, "100@virtual.example"),
      "553 sorry, no mailbox here by that name. (#5.1.1)",
    );
    assertEquals(await rcptReply(qmd.port, "0@virtual.example"), "250 2.1.5 ok");
    assertEquals(
      await rcptReply(qmd.port, "111@virtual.example"),
      "421 unable to verify recipient (#4.3.0)",
    );
  } finally {
    await qmd.stop();
  }
  const greylisted = await makeInitedHome({ greylist: "1", greylistdelay: "3600" });
  await addUser(greylisted, "joe@virtual.example", "pw");
  const second = await startQmd(greylisted);
  try {
    assertEquals(
      await rcptReply(second.port, "joe@virtual.example"),
      "451 4.7.1 greylisted, please try again later",
    );
    assertEquals(
      await rcptReply(second.port, "joe@virtual.example"),
      "451 4.7.1 greylisted, please try again later",
    );
  } finally {
    await second.stop();
  }
  const store = GreylistStore.open(greylisted);
  try {
    assertEquals(store.count(), 1);
  } finally {
    store.close();
  }
});
