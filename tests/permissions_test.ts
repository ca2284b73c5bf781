/**
 * Each role gets only what its job needs. A worker started with the smtpd
 * role's permissions from the supervisor's role table must not read a
 * Maildir or the accounts database, nor write outside the queue's intake.
 */
import { assertEquals, assertNotEquals } from "./assert.ts";
import { roleTable, type RoleTableOptions } from "../appliance/role_table.ts";
import { loadRemoteControls } from "../config/remote.ts";
import { compileTcpRules, loadTcpRules, parseTcpRules } from "../config/tcprules.ts";
import { buildCdb } from "../config/cdb.ts";
import { compileAssign, parseAssign } from "../config/users.ts";

function optionsFor(home: string): RoleTableOptions {
  return {
    home,
    smtp: [{ host: "127.0.0.1", port: 0 }],
    smtpdWorkers: 1,
    env: {},
  };
}

async function probe(
  permissions: Deno.PermissionOptionsObject,
  reads: string[],
  writes: string[],
  connects: string[] = [],
) {
  const worker = new Worker(new URL("./fixtures/permission_probe.ts", import.meta.url), {
    type: "module",
    deno: { permissions: { ...permissions, import: true } },
  });
  try {
    return await new Promise<Record<string, string>>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      worker.postMessage({ reads, writes, connects });
    });
  } finally {
    worker.terminate();
  }
}

Deno.test("permissions: smtpd cannot read a Maildir or accounts, nor write outside its queue paths", async () => {
  const home = await Deno.makeTempDir();
  const maildirFile = `${home}/mail/example.test/joe/Maildir/new/1.2.host`;
  Deno.mkdirSync(`${home}/mail/example.test/joe/Maildir/new`, { recursive: true });
  Deno.writeTextFileSync(maildirFile, "secret mail");
  Deno.writeTextFileSync(`${home}/accounts.sqlite`, "db");
  Deno.mkdirSync(`${home}/control`);
  Deno.writeTextFileSync(`${home}/control/me`, "mx.example.test\n");
  Deno.mkdirSync(`${home}/queue/pid`, { recursive: true });
  Deno.mkdirSync(`${home}/log/trace`, { recursive: true });
  const smtpd = roleTable(optionsFor(home)).find((role) => role.name === "smtpd")!;
  const results = await probe(smtpd.permissions, [
    maildirFile,
    `${home}/accounts.sqlite`,
    `${home}/control/me`,
  ], [
    `${home}/control/rcpthosts`,
    `${home}/mail/example.test/joe/Maildir/new/evil`,
    `${home}/queue/pid/ok`,
    `${home}/log/trace/2026-12-02.jsonl`,
    "/tmp/qmd-permission-probe",
  ]);
  assertEquals(results[`read ${maildirFile}`], "NotCapable");
  assertEquals(results[`read ${home}/accounts.sqlite`], "NotCapable");
  assertEquals(results[`read ${home}/control/me`], "allowed");
  assertEquals(results[`write ${home}/control/rcpthosts`], "NotCapable");
  assertEquals(results[`write ${home}/mail/example.test/joe/Maildir/new/evil`], "NotCapable");
  assertEquals(results["write /tmp/qmd-permission-probe"], "NotCapable");
  assertEquals(results[`write ${home}/queue/pid/ok`], "allowed");
  // The decision trace (appliance/trace/store.ts).
  assertEquals(results[`write ${home}/log/trace/2026-12-02.jsonl`], "allowed");
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: smtpd may connect to control/clamd's Unix socket and to no other", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/control`);
  Deno.mkdirSync(`${home}/queue/pid`, { recursive: true });
  const allowed = `${home}/clamd.sock`;
  const other = `${home}/other.sock`;
  const listeners = [allowed, other].map((path) => Deno.listen({ transport: "unix", path }));
  try {
    const without = roleTable(optionsFor(home)).find((role) => role.name === "smtpd")!;
    assertEquals(
      (await probe(without.permissions, [], [], [allowed]))[`connect ${allowed}`],
      "NotCapable",
    );
    Deno.writeTextFileSync(`${home}/control/clamd`, `${allowed}\n`);
    const smtpd = roleTable(optionsFor(home)).find((role) => role.name === "smtpd")!;
    const results = await probe(smtpd.permissions, [], [], [allowed, other]);
    assertEquals(results[`connect ${allowed}`], "allowed");
    assertEquals(results[`connect ${other}`], "NotCapable");
  } finally {
    for (const listener of listeners) listener.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("permissions: send has no network and runs no programs; local opens no sockets", () => {
  const table = roleTable(optionsFor("/nonexistent"));
  const send = table.find((role) => role.name === "send")!;
  const local = table.find((role) => role.name === "local")!;
  assertEquals(send.permissions.net, false);
  assertEquals(send.permissions.run, false);
  assertEquals(local.permissions.net, false);
  assertNotEquals(table.find((role) => role.name === "smtpd")!.permissions.run, true);
});

Deno.test("permissions: auth reads the accounts but no mail, writes only the accounts (greylisting), no network", async () => {
  const home = await Deno.makeTempDir();
  const maildirFile = `${home}/mail/example.test/joe/Maildir/new/1.2.host`;
  Deno.mkdirSync(`${home}/mail/example.test/joe/Maildir/new`, { recursive: true });
  Deno.writeTextFileSync(maildirFile, "secret mail");
  Deno.writeTextFileSync(`${home}/accounts.sqlite`, "db");
  Deno.mkdirSync(`${home}/control`);
  Deno.mkdirSync(`${home}/queue/pid`, { recursive: true });
  const table = roleTable(optionsFor(home));
  const auth = table.find((role) => role.name === "auth")!;
  assertEquals(auth.permissions.net, false);
  assertEquals(auth.permissions.run, false, "no control/checkpassword, no programs");
  const results = await probe(auth.permissions, [maildirFile, `${home}/accounts.sqlite`], [
    `${home}/accounts.sqlite`,
    `${home}/queue/pid/evil`,
  ]);
  assertEquals(results[`read ${maildirFile}`], "NotCapable");
  assertEquals(results[`read ${home}/accounts.sqlite`], "allowed");
  assertEquals(results[`write ${home}/accounts.sqlite`], "allowed");
  assertEquals(results[`write ${home}/queue/pid/evil`], "NotCapable");
  Deno.writeTextFileSync(`${home}/control/checkpassword`, "/bin/checkpassword /bin/true\n");
  const withProgram = roleTable(optionsFor(home)).find((role) => role.name === "auth")!;
  assertEquals(withProgram.permissions.run, ["/bin/sh", "/bin/checkpassword", "/bin/true"]);
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: smtpd runs only /bin/sh and the QMAILQUEUE programs it was given", async () => {
  const home = await Deno.makeTempDir();
  assertEquals(
    roleTable(optionsFor(home)).find((role) => role.name === "smtpd")!.permissions.run,
    false,
  );
  Deno.writeTextFileSync(
    `${home}/tcp.smtp`,
    '127.:allow,QMAILQUEUE="/usr/bin/simscan"\n:allow,RELAYCLIENT=""\n',
  );
  const options = { ...optionsFor(home), env: { QMAILQUEUE: "/var/qmail/bin/qmail-queue" } };
  const smtpd = roleTable(options).find((role) => role.name === "smtpd")!;
  assertEquals(smtpd.permissions.run, [
    "/bin/sh",
    "/var/qmail/bin/qmail-queue",
    "/usr/bin/simscan",
  ]);
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: smtpd runs the rcptcheck programs and reads recipientchk's cdbs", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/control`);
  Deno.mkdirSync(`${home}/users`);
  Deno.writeTextFileSync(`${home}/control/rcptcheck`, "/usr/local/bin/rcptcheck\n");
  Deno.writeTextFileSync(`${home}/control/recipients`, "etc/fastforward.cdb\n");
  Deno.writeTextFileSync(`${home}/tcp.smtp`, '127.:allow,RCPTCHECK="/opt/check"\n');
  const options = { ...optionsFor(home), env: { RCPTCHECK: "/env/check" } };
  const smtpd = roleTable(options).find((role) => role.name === "smtpd")!;
  assertEquals(smtpd.permissions.run, [
    "/bin/sh",
    "/env/check",
    "/usr/local/bin/rcptcheck",
    "/opt/check",
  ]);
  Deno.writeTextFileSync(`${home}/users/recipients.cdb`, "cdb");
  Deno.writeTextFileSync(`${home}/users/assign`, "=joe:joe:1:1:/home/joe:::\n.\n");
  const results = await probe(smtpd.permissions, [
    `${home}/users/recipients.cdb`,
    `${home}/etc/fastforward.cdb`,
    `${home}/users/assign`,
  ], []);
  assertEquals(results[`read ${home}/users/recipients.cdb`], "allowed");
  assertNotEquals(results[`read ${home}/etc/fastforward.cdb`], "NotCapable");
  assertEquals(results[`read ${home}/users/assign`], "NotCapable");
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: remote reads messages and controls, writes only tcpto, runs nothing", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/mail/example.test/joe/Maildir/new`, { recursive: true });
  const maildirFile = `${home}/mail/example.test/joe/Maildir/new/1.2.host`;
  Deno.writeTextFileSync(maildirFile, "secret mail");
  Deno.writeTextFileSync(`${home}/accounts.sqlite`, "db");
  Deno.mkdirSync(`${home}/queue/mess/0`, { recursive: true });
  Deno.mkdirSync(`${home}/queue/lock`, { recursive: true });
  Deno.writeTextFileSync(`${home}/queue/mess/0/1`, "message");
  const remote = roleTable(optionsFor(home)).find((role) => role.name === "remote")!;
  assertEquals(remote.permissions.run, false);
  const results = await probe(remote.permissions, [
    `${home}/queue/mess/0/1`,
    maildirFile,
    `${home}/accounts.sqlite`,
  ], [`${home}/queue/lock/tcpto`, `${home}/queue/mess/0/2`]);
  assertEquals(results[`read ${home}/queue/mess/0/1`], "allowed");
  assertEquals(results[`read ${maildirFile}`], "NotCapable");
  assertEquals(results[`read ${home}/accounts.sqlite`], "NotCapable");
  assertEquals(results[`write ${home}/queue/lock/tcpto`], "allowed");
  assertEquals(results[`write ${home}/queue/mess/0/2`], "NotCapable");
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: remote writes HOME/mailsec; control/tlsrpt adds qmail-queue's intake for its reports", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/control`, { recursive: true });
  const remote = () => roleTable(optionsFor(home)).find((role) => role.name === "remote")!;
  const writes = () => remote().permissions.write as string[];
  assertEquals(writes().includes(`${home}/mailsec`), true);
  assertEquals(writes().some((path) => path.endsWith("/queue/todo")), false);
  assertEquals((remote().permissions.sys as string[]).includes("uid"), false);
  Deno.writeTextFileSync(`${home}/control/tlsrpt`, "1\n");
  assertEquals(writes().some((path) => path.endsWith("/queue/todo")), true);
  assertEquals((remote().permissions.sys as string[]).includes("uid"), true);
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: pop3d reads and writes mailboxes, not the queue or the accounts", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/mail/example.test/joe/Maildir/new`, { recursive: true });
  const maildirFile = `${home}/mail/example.test/joe/Maildir/new/1.2.host`;
  Deno.writeTextFileSync(maildirFile, "mail");
  Deno.writeTextFileSync(`${home}/accounts.sqlite`, "db");
  Deno.mkdirSync(`${home}/queue/mess/0`, { recursive: true });
  Deno.writeTextFileSync(`${home}/queue/mess/0/1`, "queued");
  const options = {
    ...optionsFor(home),
    pop3: [{ host: "127.0.0.1", port: 0, kind: "pop3" as const }],
  };
  const pop3d = roleTable(options).find((role) => role.name === "pop3d")!;
  assertEquals(pop3d.permissions.run, false);
  const results = await probe(pop3d.permissions, [
    maildirFile,
    `${home}/accounts.sqlite`,
    `${home}/queue/mess/0/1`,
  ], [`${home}/mail/example.test/joe/Maildir/new/2.3.host`, `${home}/queue/mess/0/2`]);
  assertEquals(results[`read ${maildirFile}`], "allowed");
  assertEquals(results[`read ${home}/accounts.sqlite`], "NotCapable");
  assertEquals(results[`read ${home}/queue/mess/0/1`], "NotCapable");
  assertEquals(results[`write ${home}/mail/example.test/joe/Maildir/new/2.3.host`], "allowed");
  assertEquals(results[`write ${home}/queue/mess/0/2`], "NotCapable");
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: an empty control/extraremote is on for the remote role and for its run permission alike", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/control`);
  // Seed 001 lists extraremote as "set or not": a file that exists, even empty, is set.
  Deno.writeTextFileSync(`${home}/control/extraremote`, "");
  assertEquals(loadRemoteControls(home).extraRemote, true);
  const remote = roleTable(optionsFor(home)).find((role) => role.name === "remote")!;
  assertEquals(remote.permissions.run, ["/bin/sh", `${home}/bin/qmail-remote.extra`]);
  Deno.writeTextFileSync(`${home}/control/extraremote`, "0\n");
  assertEquals(loadRemoteControls(home).extraRemote, false);
  assertEquals(
    roleTable(optionsFor(home)).find((role) => role.name === "remote")!.permissions.run,
    false,
  );
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: a QMAILQUEUE set only in tcp.smtp.cdb may be run by smtpd, which honours it", async () => {
  const home = await Deno.makeTempDir();
  const rules = '127.:allow,QMAILQUEUE="/usr/bin/simscan"\n:allow\n';
  Deno.writeFileSync(`${home}/tcp.smtp.cdb`, compileTcpRules(parseTcpRules(rules, "tcp.smtp")));
  const table = loadTcpRules(`${home}/tcp.smtp`);
  assertEquals(table?.lookup({ ip: "127.0.0.1" })?.env.QMAILQUEUE, "/usr/bin/simscan");
  const smtpd = roleTable(optionsFor(home)).find((role) => role.name === "smtpd")!;
  assertEquals(smtpd.permissions.run, ["/bin/sh", "/usr/bin/simscan"]);
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: local and pop3d get the homes of users/cdb when it exists, else users/assign", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/users`);
  Deno.writeTextFileSync(`${home}/users/assign`, "=joe:joe:1:1:/home/joe:::\n.\n");
  const options = {
    ...optionsFor(home),
    pop3: [{ host: "127.0.0.1", port: 0, kind: "pop3" as const }],
  };
  const homesOf = (name: string) => {
    const permissions = roleTable(options).find((role) => role.name === name)!.permissions;
    return [permissions.read, permissions.write].map((paths) =>
      (paths as string[]).filter((path) => path.startsWith("/home/"))
    );
  };
  assertEquals(homesOf("local"), [["/home/joe"], ["/home/joe"]]);
  assertEquals(homesOf("pop3d"), [["/home/joe"], ["/home/joe"]]);
  Deno.writeFileSync(
    `${home}/users/cdb`,
    buildCdb(compileAssign(parseAssign("=ann:ann:1:1:/home/ann:::\n.\n"))),
  );
  assertEquals(homesOf("local"), [["/home/ann"], ["/home/ann"]]);
  // A users/cdb that is not one grants nothing; local reports it when it delivers.
  Deno.writeTextFileSync(`${home}/users/cdb`, "not a cdb");
  assertEquals(homesOf("local"), [[], []]);
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: the admin console reads the home and writes only HOME/admin; its net is its address", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/control`);
  Deno.mkdirSync(`${home}/admin`);
  Deno.mkdirSync(`${home}/queue/todo`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/me`, "mx.example.test\n");
  Deno.writeTextFileSync(`${home}/accounts.sqlite`, "db");
  const options = { ...optionsFor(home), admin: { host: "127.0.0.1", port: 8025 } };
  const admin = roleTable(options).find((role) => role.name === "admin")!;
  assertEquals(admin.permissions.net, ["127.0.0.1:8025"]);
  assertEquals(admin.permissions.run, false);
  const results = await probe(admin.permissions, [
    `${home}/control/me`,
    `${home}/accounts.sqlite`,
    "/etc/hostname",
  ], [
    `${home}/admin/history`,
    `${home}/control/rcpthosts`,
    `${home}/accounts.sqlite`,
    `${home}/queue/todo/1`,
  ]);
  assertEquals(results[`read ${home}/control/me`], "allowed");
  assertEquals(results[`read ${home}/accounts.sqlite`], "allowed");
  assertEquals(results["read /etc/hostname"], "NotCapable");
  assertEquals(results[`write ${home}/admin/history`], "allowed");
  assertEquals(results[`write ${home}/control/rcpthosts`], "NotCapable");
  assertEquals(results[`write ${home}/accounts.sqlite`], "NotCapable");
  assertEquals(results[`write ${home}/queue/todo/1`], "NotCapable");
  // No console unless asked for.
  assertEquals(roleTable(optionsFor(home)).some((role) => role.name === "admin"), false);
  await Deno.remove(home, { recursive: true });
});

Deno.test("permissions: acme reaches only its CA and HTTP-01 address, and writes only servercert.pem and HOME/acme", async () => {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/control`);
  Deno.mkdirSync(`${home}/acme`);
  Deno.writeTextFileSync(`${home}/control/me`, "mx.example.test\n");
  Deno.writeTextFileSync(`${home}/accounts.sqlite`, "db");
  assertEquals(roleTable(optionsFor(home)).some((role) => role.name === "acme"), false);
  Deno.writeTextFileSync(
    `${home}/control/acme`,
    "directory https://ca.example.test:14000/dir\nhttp [::1]:8080\n",
  );
  const acme = roleTable(optionsFor(home)).find((role) => role.name === "acme")!;
  assertEquals(acme.permissions.net, ["ca.example.test:14000", "[::1]:8080"]);
  assertEquals([acme.permissions.run, acme.permissions.ffi], [false, false]);
  const results = await probe(acme.permissions, [
    `${home}/accounts.sqlite`,
    `${home}/control/me`,
  ], [
    `${home}/control/servercert.pem`,
    `${home}/control/servercert.pem.tmp.${Deno.pid}`,
    `${home}/control/servercert.pem.tmp`,
    `${home}/acme/state.json`,
    `${home}/control/rcpthosts`,
    `${home}/control/clientca.pem`,
  ]);
  assertEquals(results[`read ${home}/accounts.sqlite`], "NotCapable");
  assertEquals(results[`read ${home}/control/me`], "allowed");
  assertEquals(results[`write ${home}/control/servercert.pem`], "allowed");
  assertEquals(results[`write ${home}/control/servercert.pem.tmp.${Deno.pid}`], "allowed");
  assertEquals(results[`write ${home}/control/servercert.pem.tmp`], "NotCapable");
  assertEquals(results[`write ${home}/acme/state.json`], "allowed");
  assertEquals(results[`write ${home}/control/rcpthosts`], "NotCapable");
  assertEquals(results[`write ${home}/control/clientca.pem`], "NotCapable");
  // A broken control/acme grants no network; the isolate reports the file and stops.
  Deno.writeTextFileSync(`${home}/control/acme`, "directory ftp://x\n");
  assertEquals(
    roleTable(optionsFor(home)).find((role) => role.name === "acme")!.permissions.net,
    false,
  );
  await Deno.remove(home, { recursive: true });
});
