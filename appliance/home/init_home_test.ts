import crypto from "node:crypto";
import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { defaultMe, formatInitialControls, initHome } from "./init_home.ts";
import { QueueLayout } from "../queue/layout.ts";
import { ServerTls } from "../tls/server_tls.ts";
import { handshake } from "../../tests/fixtures/tls/handshake.ts";

function mode(path: string): string {
  return ((Deno.statSync(path).mode ?? 0) & 0o7777).toString(8).padStart(4, "0");
}

function walk(root: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(`${root}/${prefix}`)) {
    const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory) found.push(`${name}/`, ...walk(root, name));
    else found.push(name);
  }
  return found.sort();
}

const SPLIT = Array.from({ length: 23 }, (_, i) => String(i));

Deno.test("init: qmail's queue directories, split subdirectories and modes", async () => {
  const home = await Deno.makeTempDir();
  try {
    const { created } = await initHome(home, { me: "mail.example.com" });
    const queue = `${home}/queue`;
    const expected = [
      "bounce/",
      "lock/",
      "lock/sendmutex",
      "lock/tcpto",
      "lock/trigger",
      "pid/",
      ...["mess", "intd", "todo", "info", "local", "remote"].flatMap((
        d,
      ) => [`${d}/`, ...SPLIT.map((n) => `${d}/${n}/`)]),
    ].sort();
    assertEquals(walk(queue), expected);
    const modes: Record<string, string> = {
      "": "0750",
      pid: "0700",
      mess: "0750",
      intd: "0700",
      todo: "0750",
      info: "0700",
      local: "0700",
      remote: "0700",
      bounce: "0700",
      lock: "0750",
      "lock/tcpto": "0644",
      "lock/sendmutex": "0600",
      "lock/trigger": "0622",
    };
    for (const [path, want] of Object.entries(modes)) {
      assertEquals(mode(`${queue}/${path}`), want, path);
    }
    for (
      const [d, want] of [
        ["mess", "0750"],
        ["intd", "0700"],
        ["todo", "0750"],
        [
          "info",
          "0700",
        ],
        ["local", "0700"],
        ["remote", "0700"],
      ]
    ) {
      for (const n of SPLIT) assertEquals(mode(`${queue}/${d}/${n}`), want, `${d}/${n}`);
    }
    assert(Deno.statSync(`${queue}/lock/trigger`).isFifo, "trigger is a FIFO");
    assertEquals(Deno.readFileSync(`${queue}/lock/tcpto`), new Uint8Array(1024));
    assertEquals(Deno.statSync(`${queue}/lock/sendmutex`).size, 0);
    assert(new QueueLayout(queue).todoSplit, "big-todo layout detected");
    assert(created.includes("queue/lock/trigger"));
    assert(created.includes("control/me"));
    assert(created.includes("log/trace/"));
    assertEquals(mode(`${home}/log/trace`), "0750");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("init: control files, users, alias home and mail", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    const read = (p: string) => Deno.readTextFileSync(`${home}/${p}`);
    assertEquals(read("control/me"), "mail.example.com\n");
    assertEquals(read("control/defaultdomain"), "example.com\n");
    assertEquals(read("control/plusdomain"), "example.com\n");
    assertEquals(read("control/locals"), "mail.example.com\nlocalhost\n");
    assertEquals(read("control/rcpthosts"), "mail.example.com\nlocalhost\n");
    assertEquals(walk(`${home}/control`), [
      "defaultdomain",
      "locals",
      "me",
      "plusdomain",
      "rcpthosts",
      "servercert.pem",
    ]);
    assertEquals(read("users/assign"), ".\n");
    for (const name of [".qmail-postmaster", ".qmail-mailer-daemon", ".qmail-root"]) {
      assertEquals(read(`alias/${name}`), "./Maildir/\n");
      assertEquals(mode(`${home}/alias/${name}`), "0644");
    }
    for (const sub of ["", "/tmp", "/new", "/cur"]) {
      assertEquals(mode(`${home}/alias/Maildir${sub}`), "0700");
    }
    assert(Deno.statSync(`${home}/mail`).isDirectory);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("init: idempotent, never overwrites what the operator wrote", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "a.example.net" });
    Deno.writeTextFileSync(`${home}/control/me`, "custom.example.org\n");
    Deno.removeSync(`${home}/control/plusdomain`);
    Deno.chmodSync(`${home}/queue/bounce`, 0o750);
    const again = await initHome(home, { me: "b.example.net" });
    assertEquals(again.created, ["control/plusdomain"]);
    assertEquals(Deno.readTextFileSync(`${home}/control/me`), "custom.example.org\n");
    assertEquals(Deno.readTextFileSync(`${home}/control/plusdomain`), "example.net\n");
    assertEquals(mode(`${home}/queue/bounce`), "0750");
    assertEquals((await initHome(home, { me: "b.example.net" })).created, []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("init: an existing vanilla queue keeps its flat todo/", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/queue/todo`, { recursive: true });
    Deno.writeTextFileSync(`${home}/queue/todo/457`, "");
    await initHome(home, { me: "example.com" });
    assert(!new QueueLayout(`${home}/queue`).todoSplit);
    assertEquals(walk(`${home}/queue/todo`), ["457"]);
    assertEquals(walk(`${home}/queue/intd`), []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("init: default me and config-fast's defaultdomain/plusdomain", () => {
  assertEquals(defaultMe("vm"), "localhost");
  assertEquals(defaultMe("Mail.Example.COM."), "mail.example.com");
  assertEquals(formatInitialControls("a.b.c.d").defaultdomain, "b.c.d\n");
  assertEquals(formatInitialControls("a.b.c.d").plusdomain, "c.d\n");
  assertEquals(formatInitialControls("example.com").defaultdomain, "example.com\n");
  assertEquals(formatInitialControls("localhost").locals, "localhost\n");
});

Deno.test("init: control/servercert.pem, key and self-signed certificate for control/me, mode 0600", async () => {
  const home = await Deno.makeTempDir();
  try {
    const { created } = await initHome(home, { me: "Mail.Example.com" });
    assert(created.includes("control/servercert.pem"));
    const path = `${home}/control/servercert.pem`;
    assertEquals(mode(path), "0600");
    const text = Deno.readTextFileSync(path);
    assertMatch(text, /^-----BEGIN PRIVATE KEY-----\n[^]*-----BEGIN CERTIFICATE-----\n/);
    const certPem = text.slice(text.indexOf("-----BEGIN CERTIFICATE-----"));
    const cert = new crypto.X509Certificate(certPem);
    assertEquals(cert.subject, "CN=mail.example.com");
    assertEquals(
      cert.subjectAltName,
      "DNS:mail.example.com, DNS:localhost, IP Address:127.0.0.1",
    );
    const keyPem = text.slice(0, text.indexOf("-----BEGIN CERTIFICATE-----"));
    assert(cert.checkPrivateKey(crypto.createPrivateKey(keyPem)));

    // The running server serves it: a client trusting it reaches mail.example.com.
    const errors: string[] = [];
    const tls = new ServerTls(home, { onError: (message) => errors.push(message) });
    const result = await handshake({
      secureContext: tls.context()!,
      client: { ca: certPem, servername: "mail.example.com" },
    });
    assertEquals([result.authorized, result.serverCommonName], [true, "mail.example.com"]);
    assertEquals(errors, []);

    // Never overwritten; made again (for the current control/me) only when removed.
    Deno.writeTextFileSync(path, "operator's own\n");
    assertEquals((await initHome(home, { me: "other.example.net" })).created, []);
    assertEquals(Deno.readTextFileSync(path), "operator's own\n");
    Deno.removeSync(path);
    Deno.writeTextFileSync(`${home}/control/me`, "mx.example.org\n");
    assertEquals((await initHome(home)).created, ["control/servercert.pem"]);
    const again = Deno.readTextFileSync(path);
    const renewed = new crypto.X509Certificate(
      again.slice(again.indexOf("-----BEGIN CERTIFICATE")),
    );
    assertEquals(renewed.subject, "CN=mx.example.org");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
