/**
 * `qmd start` as an operator meets it: what it prints (once, on the right
 * stream), how it refuses a port another appliance holds, and which
 * certificate every smtpd isolate serves after the operator breaks
 * control/servercert.pem.
 */
import tls from "node:tls";
import { RUN_FLAGS } from "../mod.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, runQmd, SmtpClient, startQmd, waitFor } from "./harness.ts";
import { createCertificate } from "../appliance/tls/self_signed.ts";
import { freePort } from "../appliance/net/free_port.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Every listener but SMTP off, so a test needs (and holds) one port only. */
const ONLY_SMTP = [
  "--submission",
  "off",
  "--smtps",
  "off",
  "--pop3",
  "off",
  "--pop3s",
  "off",
  "--admin",
  "off",
];

/** A `qmd start` whose stdout and stderr are kept apart. */
function spawnStart(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "start", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const decoder = new TextDecoder();
  const streams = { stdout: "", stderr: "" };
  const collect = async (name: "stdout" | "stderr", stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) streams[name] += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([collect("stdout", child.stdout), collect("stderr", child.stderr)]);
  let exited: number | undefined;
  child.status.then((status) => (exited = status.code));
  return {
    child,
    streams,
    exited: () => exited,
    async stop(): Promise<number> {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const status = await child.status;
      await done;
      return status.code;
    },
  };
}

/** The subject CN of the certificate a TLS-first listener presents. */
function servedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const name = socket.getPeerCertificate().subject?.CN;
      socket.destroy();
      resolve(String(name));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("handshake timed out")));
    socket.on("error", reject);
  });
}

Deno.test("start: each broken control file is printed once, as one line on stderr", async () => {
  const home = await makeInitedHome();
  Deno.writeTextFileSync(`${home}/control/queuelifetime`, "a week\n");
  Deno.writeTextFileSync(`${home}/control/databytes`, "ten megabytes\n");
  // A cipher list qmd's TLS cannot keep to is refused, not ignored (config/tls_ciphers.ts).
  Deno.writeTextFileSync(`${home}/control/tlsclientciphers`, "HIGH:!CHACHA20\n");
  const port = await freePort("127.0.0.1");
  const result = await runQmd([
    "start",
    "--home",
    home,
    "--smtp",
    `127.0.0.1:${port}`,
    ...ONLY_SMTP,
  ]);
  assertEquals(result.code, 111);
  assertEquals(result.stderr.trim().split("\n").sort(), [
    `qmd: cannot start: ${home}/control/databytes line 1: expected a whole number, found "ten megabytes"`,
    `qmd: cannot start: ${home}/control/queuelifetime line 1: expected a non-negative whole number, found "a week"`,
    `qmd: cannot start: ${home}/control/tlsclientciphers line 1: qmd's TLS cannot leave out single ` +
    "cipher suites and would still offer ECDHE-ECDSA-CHACHA20-POLY1305, ECDHE-RSA-CHACHA20-POLY1305; " +
    "remove the file or allow them",
  ]);
  assertEquals(result.stdout, "");
});

Deno.test("start: a home that cannot be created gives one line naming it, no stack trace", async () => {
  const result = await runQmd(["start", "--home", "/proc/qmd-x", "--smtp", "127.0.0.1:0"]);
  assertEquals(result.code, 111);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assertMatch(lines[0], /^qmd: cannot start: cannot create the home \/proc\/qmd-x: /);
  assertEquals(result.stdout, "");
});

Deno.test("start: a home under /dev is refused in one line, before anything is created", async () => {
  const home = `/dev/shm/qmd-refused-${crypto.randomUUID()}`;
  const result = await runQmd(["start", "--home", home, "--smtp", "127.0.0.1:0"]);
  assertEquals(result.code, 111);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assertMatch(
    lines[0],
    /^qmd: cannot start: the home \/dev\/shm\/qmd-refused-\S+ lies under \/dev, /,
  );
  assertEquals(result.stdout, "");
  let created = true;
  try {
    Deno.statSync(home);
  } catch {
    created = false;
  }
  assertEquals(created, false, "nothing created");
});

Deno.test("start: with --log-format json every stdout line is a JSON object; the banner is on stderr", async () => {
  const home = await makeInitedHome();
  const port = await freePort("127.0.0.1");
  const qmd = spawnStart([
    "--home",
    home,
    "--smtp",
    `127.0.0.1:${port}`,
    ...ONLY_SMTP,
    "--smtpd-workers",
    "1",
    "--log-format",
    "json",
  ]);
  try {
    await waitFor(
      () =>
        qmd.streams.stdout.includes("qmd is running") ||
          qmd.streams.stderr.includes("qmd is running")
          ? true
          : undefined,
      30_000,
      () => `the banner:\n${qmd.streams.stdout}${qmd.streams.stderr}`,
    );
    const client = await SmtpClient.connect(port);
    assertMatch(await client.reply(), /^220 /);
    assertMatch(await client.command("HELO client.example"), /^250 /);
    assertMatch(await client.command("MAIL FROM:<a@client.example>"), /^250 /);
    assertMatch(await client.command("RCPT TO:<postmaster@mx.example.test>"), /^250 /);
    assertMatch(await client.command("DATA"), /^354 /);
    assertMatch(await client.command("Subject: json\r\n\r\nbody\r\n."), /^250 /);
    assertMatch(await client.command("QUIT"), /^221 /);
    client.close();
    await waitFor(
      () =>
        qmd.streams.stdout.includes('"smtp_close"') && qmd.streams.stdout.includes('"end_msg"')
          ? true
          : undefined,
      10_000,
    );
  } finally {
    assertEquals(await qmd.stop(), 0);
  }
  const lines = qmd.streams.stdout.split("\n").filter((line) => line !== "");
  assert(lines.length > 0, "no log lines");
  const events: Record<string, unknown>[] = [];
  for (const line of lines) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`not JSON on stdout: ${line}`);
    }
    assert(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed), line);
    events.push(parsed as Record<string, unknown>);
  }
  // One message, one id: smtpd's and the send role's events carry it alike (a number).
  const ids = (event: string) => events.filter((e) => e.event === event).map((e) => e.msg);
  assertEquals(ids("smtp_queued").length, 1, lines.join("\n"));
  assertEquals(typeof ids("smtp_queued")[0], "number");
  assertEquals(ids("new_msg"), ids("smtp_queued"));
  assertEquals(ids("end_msg"), ids("smtp_queued"));
  assertStringIncludes(qmd.streams.stderr, "qmd is running");
  assertStringIncludes(qmd.streams.stderr, `smtp:     127.0.0.1:${port}`);
});

Deno.test("start: a second appliance on another home refuses the ports the first one holds", async () => {
  const first = await startQmd(await makeInitedHome());
  try {
    const second = spawnStart([
      "--home",
      await makeInitedHome(),
      "--smtp",
      `127.0.0.1:${first.port}`,
      ...ONLY_SMTP,
    ]);
    // Bounded: before the fix the second appliance came up and shared the port.
    const code = await waitFor(
      () => second.exited() ?? (second.streams.stdout.includes("qmd is running") ? -1 : undefined),
      30_000,
      () => `the second start to end:\n${second.streams.stderr}`,
    );
    const stopped = await second.stop();
    assertEquals(code, 111, second.streams.stdout + second.streams.stderr);
    assertEquals(stopped, 111);
    assertEquals(
      second.streams.stderr.trim(),
      `qmd: cannot start: 127.0.0.1:${first.port} is in use (another qmd or mail server?)`,
    );
    const client = await SmtpClient.connect(first.port);
    assertMatch(await client.reply(), /^220 /);
    client.close();
  } finally {
    await first.stop();
  }
});

Deno.test("start: after a good certificate and then a broken servercert.pem, every isolate serves the good one", async () => {
  const home = await makeInitedHome();
  const qmd = await startQmd(home, { workers: 4 });
  try {
    const ca = await createCertificate({ commonName: "Test CA", usage: "ca" });
    const good = await createCertificate({ commonName: "mail.example.test", issuer: ca });
    Deno.writeTextFileSync(`${home}/control/servercert.pem.tmp`, good.keyPem + good.certPem);
    Deno.renameSync(`${home}/control/servercert.pem.tmp`, `${home}/control/servercert.pem`);
    await waitFor(
      async () =>
        (await servedCommonName(qmd.smtpsPort)) === "mail.example.test" ? true : undefined,
      10_000,
      () => `the new certificate to be served:\n${qmd.output()}`,
    );
    Deno.writeTextFileSync(`${home}/control/servercert.pem.tmp`, good.certPem);
    Deno.renameSync(`${home}/control/servercert.pem.tmp`, `${home}/control/servercert.pem`);
    qmd.process.kill("SIGHUP");
    await waitFor(
      async () => {
        await servedCommonName(qmd.smtpsPort);
        return /servercert\.pem: no private key/.test(qmd.output()) ? true : undefined;
      },
      10_000,
      () => `the broken file to be reported:\n${qmd.output()}`,
    );
    const names = new Set<string>();
    for (let handshake = 0; handshake < 24; handshake++) {
      names.add(await servedCommonName(qmd.smtpsPort));
    }
    assertEquals([...names], ["mail.example.test"]);
  } finally {
    await qmd.stop();
  }
});

Deno.test("start: the banner says what certificate is served", async () => {
  const home = await makeInitedHome();
  const port = await freePort("127.0.0.1");
  const args = [
    "--home",
    home,
    "--smtp",
    `127.0.0.1:${port}`,
    ...ONLY_SMTP,
    "--smtpd-workers",
    "1",
  ];
  const banner = async () => {
    const qmd = spawnStart(args);
    try {
      await waitFor(
        () => qmd.streams.stdout.includes("qmd is running") ? true : undefined,
        30_000,
        () => qmd.streams.stdout + qmd.streams.stderr,
      );
    } finally {
      await qmd.stop();
    }
    return /^ {2}tls: .*$/m.exec(qmd.streams.stdout)?.[0] ?? "";
  };
  assertMatch(await banner(), /self-signed for mx\.example\.test/);

  const ca = await createCertificate({ commonName: "Test CA", usage: "ca" });
  const good = await createCertificate({ commonName: "mail.example.test", issuer: ca });
  Deno.writeTextFileSync(`${home}/control/servercert.pem`, good.keyPem + good.certPem);
  const signed = await banner();
  assert(!signed.includes("self-signed"), signed);
  assertStringIncludes(signed, "mail.example.test");
  assertStringIncludes(signed, "issued by Test CA");

  Deno.writeTextFileSync(`${home}/control/servercert.pem`, good.certPem);
  const off = await banner();
  assertMatch(off, /STARTTLS off/);
  assertStringIncludes(off, "no private key");
});

Deno.test("start: SIGHUP names every broken control file once, then says the reload is done", async () => {
  const home = await makeInitedHome();
  const qmd = await startQmd(home, { workers: 2 });
  try {
    const broken: Record<string, string> = {
      databytes: "ten megabytes",
      maxrcpt: "many",
      concurrencyremote: "lots",
      timeoutpop3d: "forever",
    };
    for (const [name, text] of Object.entries(broken)) {
      Deno.writeTextFileSync(`${home}/control/${name}`, `${text}\n`);
    }
    qmd.process.kill("SIGHUP");
    await waitFor(
      () => qmd.output().includes("reloaded control files except") ? true : undefined,
      15_000,
      () => `the reload to end:\n${qmd.output()}`,
    );
    const alerts = qmd.output().split("\n").filter((line) => line.includes("unable to reread"));
    for (const name of Object.keys(broken)) {
      assertEquals(
        alerts.filter((line) => line.includes(`${home}/control/${name} line 1:`)).length,
        1,
        `${name} once:\n${alerts.join("\n")}`,
      );
    }
    assertEquals(alerts.length, 4, alerts.join("\n"));
    // The old controls stay: databytes is still unlimited for a new session.
    const client = await SmtpClient.connect(qmd.port);
    assertMatch(await client.reply(), /^220 /);
    assertMatch(await client.command("EHLO a.example"), /^250/);
    assertMatch(await client.command("MAIL FROM:<a@b.example> SIZE=20000000"), /^250 /);
    client.close();

    for (const name of Object.keys(broken)) Deno.removeSync(`${home}/control/${name}`);
    qmd.process.kill("SIGHUP");
    await waitFor(
      () => qmd.output().includes("status: reloaded control files\n") ? true : undefined,
      15_000,
      () => `the clean reload:\n${qmd.output()}`,
    );
  } finally {
    await qmd.stop();
  }
});

Deno.test("start: the banner's commands work as printed from another directory", async () => {
  const home = await makeInitedHome();
  const qmd = await startQmd(home, { workers: 1 });
  try {
    const banner = qmd.output();
    const addUser = /^ {2}(echo 'a-password' \| .*)$/m.exec(banner)?.[1];
    const inject = /^ {2}(printf 'Subject: hello.*)$/m.exec(banner)?.[1];
    assert(addUser !== undefined && inject !== undefined, banner);
    const elsewhere = await Deno.makeTempDir({ prefix: "qmd-elsewhere-" });
    try {
      for (const line of [addUser, inject]) {
        const result = await new Deno.Command("/bin/sh", {
          args: ["-c", line],
          cwd: elsewhere,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        assertEquals(result.code, 0, `${line}\n${new TextDecoder().decode(result.stderr)}`);
      }
    } finally {
      await Deno.remove(elsewhere, { recursive: true });
    }
    const maildir = /^It arrives in (.*)new\/$/m.exec(banner)?.[1] ?? "";
    await waitFor(
      () => {
        try {
          return [...Deno.readDirSync(`${maildir}new`)].length === 1 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
      () => `the test message in ${maildir}new:\n${qmd.output()}`,
    );
  } finally {
    await qmd.stop();
  }
});
