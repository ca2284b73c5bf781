import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { main } from "./install.ts";
import { captureConsole } from "./test_io.ts";

async function withRoot(fn: (root: string) => Promise<void>) {
  const root = await Deno.makeTempDir();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const BASE = ["--home", "/var/qmd", "--exec", "/usr/local/bin/qmd"];

function unitLines(text: string): Set<string> {
  return new Set(text.split("\n"));
}

Deno.test("qmd install --systemd: prints the unit and writes nothing without --apply", async () => {
  await withRoot(async (root) => {
    const run = await captureConsole(() => main(["--systemd", ...BASE, "--root", root]));
    assertEquals(run.result, 0, run.err.join("\n"));
    const out = run.out.join("\n");
    assertStringIncludes(
      out,
      `# ${root}/etc/systemd/system/qmd.service (mode 644; --apply writes it)`,
    );
    const lines = unitLines(out);
    for (
      const line of [
        "User=qmd",
        "Group=qmd",
        "ExecStart=/usr/local/bin/qmd start --home /var/qmd --smtp 0.0.0.0:25 " +
        "--submission 0.0.0.0:587 --smtps 0.0.0.0:465 --pop3 0.0.0.0:110 " +
        "--pop3s 0.0.0.0:995 --grace 10",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/qmd",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "WantedBy=multi-user.target",
      ]
    ) assert(lines.has(line), line);
    assertStringIncludes(out, "systemctl daemon-reload && systemctl enable --now qmd");
    assertEquals([...Deno.readDirSync(root)], []);
  });
});

Deno.test("qmd install --systemd --apply writes the unit under --root, and only its own", async () => {
  await withRoot(async (root) => {
    const args = ["--systemd", "--apply", ...BASE, "--root", root, "--user", "mail"];
    const run = await captureConsole(() => main(args));
    assertEquals(run.result, 0, run.err.join("\n"));
    const path = `${root}/etc/systemd/system/qmd.service`;
    assertEquals(run.out[0], `qmd install: wrote ${path}`);
    const text = Deno.readTextFileSync(path);
    assert(unitLines(text).has("User=mail"));
    assertEquals((Deno.statSync(path).mode ?? 0) & 0o777, 0o644);
    // Again: its own file is replaced; a file it did not write is not.
    assertEquals((await captureConsole(() => main(args))).result, 0);
    Deno.writeTextFileSync(path, "[Unit]\nDescription=someone else's\n");
    const refused = await captureConsole(() => main(args));
    assertEquals(refused.result, 111);
    assertStringIncludes(refused.err[0], "was not written by qmd install");
    assertEquals(Deno.readTextFileSync(path), "[Unit]\nDescription=someone else's\n");
  });
});

Deno.test("qmd install: a home under /home gets ProtectHome=read-only", async () => {
  const run = await captureConsole(() =>
    main(["--systemd", "--home", "/home/mail/qmd", "--exec", "/usr/local/bin/qmd"])
  );
  assert(unitLines(run.out.join("\n")).has("ProtectHome=read-only"));
});

Deno.test("qmd install --daemontools --apply: run and log/run that sh accepts, log/main made", async () => {
  await withRoot(async (root) => {
    const run = await captureConsole(() =>
      main(["--daemontools", "--apply", ...BASE, "--root", root, "--address", "192.0.2.1"])
    );
    assertEquals(run.result, 0, run.err.join("\n"));
    const dir = `${root}/var/qmd/supervise/qmd`;
    const script = Deno.readTextFileSync(`${dir}/run`);
    assertStringIncludes(
      script,
      "exec setuidgid qmd /usr/local/bin/qmd start --home /var/qmd --smtp 192.0.2.1:25",
    );
    assertStringIncludes(Deno.readTextFileSync(`${dir}/log/run`), "multilog t");
    for (const file of ["run", "log/run"]) {
      assertEquals((Deno.statSync(`${dir}/${file}`).mode ?? 0) & 0o777, 0o755);
      const check = await new Deno.Command("sh", { args: ["-n", `${dir}/${file}`] }).output();
      assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
    }
    assert(Deno.statSync(`${dir}/log/main`).isDirectory);
    const out = run.out.join("\n");
    assertStringIncludes(out, "ln -s /var/qmd/supervise/qmd /service/qmd");
    assertStringIncludes(out, "net.ipv4.ip_unprivileged_port_start=25");
  });
});

Deno.test("qmd install: bad flags get one line and 64", async () => {
  for (
    const args of [
      [],
      ["--systemd", "--daemontools"],
      ["--systemd", "--user", "Root;rm"],
      ["--systemd", "--home", "/var/q md"],
      ["--systemd", "--exec", "qmd"],
      ["--systemd", "--address", "any"],
      ["--systemd", "--grace", "soon"],
      ["--systemd", "extra"],
    ]
  ) {
    const run = await captureConsole(() => main(args));
    assertEquals([run.result, run.err.length, run.out.length], [64, 1, 0], args.join(" "));
  }
});

Deno.test("qmd install --systemd: systemd-analyze verify finds nothing to say about the unit", async () => {
  const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
  if (analyze === undefined) {
    console.log("skipped: systemd-analyze is not installed");
    return;
  }
  for (const home of ["/var/qmd", "/home/mail/qmd"]) {
    await withRoot(async (root) => {
      // ExecStart must name an executable that exists: this test's own deno.
      const run = await captureConsole(() =>
        main(["--systemd", "--apply", "--root", root, "--home", home, "--exec", Deno.execPath()])
      );
      assertEquals(run.result, 0, run.err.join("\n"));
      const verify = await new Deno.Command(analyze, {
        args: ["verify", `${root}/etc/systemd/system/qmd.service`],
        signal: AbortSignal.timeout(120_000),
      }).output();
      const stderr = new TextDecoder().decode(verify.stderr);
      assertEquals([verify.code, stderr], [0, ""], home);
    });
  }
});
