/**
 * End to end over a real `qmd start`: users/assign homes outside the qmd
 * home (system-style accounts), program deliveries' umask, the delivery
 * events in JSON logs, and messages that a vanilla qmail-queue wrote flat
 * into qmd's split queue.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runQmd, sendMessage, startQmd, waitFor } from "./harness.ts";
import { delivered, homeWithOutsideUsers, makeUserHome, writeAssign } from "./user_homes.ts";
import { QueueLayout } from "../appliance/queue/layout.ts";
import { writeVanillaMessage } from "../appliance/queue/test_queue.ts";

const ME = "mx.example.test";

Deno.test("e2e: a users/assign home outside the qmd home gets its mail; |program runs with umask 077", async () => {
  const { home, outside } = await homeWithOutsideUsers(ME);
  const sys = makeUserHome(
    `${outside}/sys`,
    "./Maildir/\n|umask > umask.seen; cat > program.copy\n",
  );
  writeAssign(home, { sys });
  const qmd = await startQmd(home);
  try {
    const reply = await sendMessage(
      qmd.port,
      "alice@sender.example",
      [`sys@${ME}`],
      "Subject: system user\n\nhello\n",
    );
    assertMatch(reply, /^250 /);
    const [file] = await delivered(`${sys}/Maildir`, qmd.output);
    const text = Deno.readTextFileSync(file);
    assert(text.startsWith(`Return-Path: <alice@sender.example>\nDelivered-To: sys@${ME}\n`), text);
    assert(text.endsWith("Subject: system user\n\nhello\n"), text);
    assertEquals(Deno.statSync(file).mode! & 0o777, 0o600);
    await waitFor(
      () => qmd.output().includes("end msg") ? true : undefined,
      10_000,
      () => qmd.output(),
    );
    assertEquals(Deno.readTextFileSync(`${sys}/umask.seen`), "0077\n");
    assertEquals(Deno.statSync(`${sys}/program.copy`).mode! & 0o777, 0o600);
  } finally {
    await qmd.stop();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("e2e: every delivery event names its message and recipient in JSON; text keeps qmail's wording", async () => {
  const { home, outside } = await homeWithOutsideUsers(ME);
  const ok = makeUserHome(`${outside}/ok`, "./Maildir/\n");
  const busy = makeUserHome(`${outside}/busy`, "|echo busy; exit 111\n");
  const gone = makeUserHome(`${outside}/gone`, "|echo gone; exit 100\n");
  writeAssign(home, { ok, busy, gone });
  const qmd = await startQmd(home, { extraArgs: ["--log-format", "json"] });
  try {
    const reply = await sendMessage(
      qmd.port,
      "alice@sender.example",
      [`ok@${ME}`, `busy@${ME}`, `gone@${ME}`],
      "Subject: three ways\n\nhello\n",
    );
    assertMatch(reply, /^250 /);
    type Event = Record<string, unknown>;
    const events = () =>
      qmd.output().split("\n").filter((line) => line.startsWith("{")).map((line) =>
        JSON.parse(line) as Event
      );
    const wanted = ["delivery_success", "delivery_deferral", "delivery_failure"];
    await waitFor(
      () => wanted.every((name) => events().some((event) => event.event === name)) || undefined,
      20_000,
      () => qmd.output(),
    );
    const id = events().find((event) => event.event === "new_msg")?.msg;
    assertEquals(typeof id, "number");
    const byEvent = (name: string) => events().filter((event) => event.event === name);
    const recipients: Record<string, string> = {
      delivery_success: `ok@${ME}`,
      delivery_deferral: `busy@${ME}`,
      delivery_failure: `gone@${ME}`,
    };
    for (const [name, recipient] of Object.entries(recipients)) {
      const [event] = byEvent(name);
      assertEquals([event.msg, event.recipient, event.channel], [id, recipient, "local"], name);
      assertEquals(typeof event.delivery, "number", name);
    }
    const started = byEvent("starting_delivery");
    assertEquals(started.map((event) => event.recipient).sort(), Object.values(recipients).sort());
    assert(started.every((event) => event.msg === id && event.channel === "local"));
    const [deferral] = byEvent("delivery_deferral");
    assertEquals(deferral.text, `delivery ${deferral.delivery}: deferral: busy/`);
  } finally {
    await qmd.stop();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("e2e: a message a vanilla qmail-queue wrote flat into the split queue is delivered", async () => {
  const { home, outside } = await homeWithOutsideUsers(ME);
  const sys = makeUserHome(`${outside}/sys`, "./Maildir/\n");
  writeAssign(home, { sys });
  const qmd = await startQmd(home);
  try {
    const layout = new QueueLayout(`${home}/queue`);
    assert(layout.todoSplit, "qmd init makes todo/ split");
    const id = writeVanillaMessage(layout, {
      received: "Received: (qmail 4711 invoked by uid 1000); 5 Mar 2024 07:08:09 -0000\n",
      body: "Subject: flat\n\nfrom a vanilla qmail-queue\n",
      uid: 1000,
      pid: 4711,
      sender: "joe@a.example",
      recipients: [`sys@${ME}`],
    });
    const qstat = await runQmd(["qstat", "--home", home]);
    assertEquals(qstat.stdout.split("\n")[1], "messages in queue but not yet preprocessed: 1");
    // qmail-queue's last step: one byte into lock/trigger.
    const trigger = await Deno.open(`${home}/queue/lock/trigger`, { write: true });
    await trigger.write(new Uint8Array(1));
    trigger.close();
    const [file] = await delivered(`${sys}/Maildir`, qmd.output);
    assert(Deno.readTextFileSync(file).endsWith("from a vanilla qmail-queue\n"));
    await waitFor(
      () => qmd.output().includes(`end msg ${id}\n`) ? true : undefined,
      10_000,
      () => qmd.output(),
    );
    for (const name of ["todo", "intd"]) {
      assertEquals([...Deno.readDirSync(`${home}/queue/${name}`)].filter((e) => e.isFile), []);
    }
  } finally {
    await qmd.stop();
    await Deno.remove(outside, { recursive: true });
  }
});
