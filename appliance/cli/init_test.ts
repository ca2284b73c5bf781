import crypto from "node:crypto";
import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { captureConsole } from "./test_io.ts";
import { initHome } from "../home/init_home.ts";
import { RUN_FLAGS } from "../../mod.ts";
import { createSelfSignedCertificate } from "../tls/self_signed.ts";
import { main } from "./init.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function certificateOf(home: string): crypto.X509Certificate {
  const text = Deno.readTextFileSync(`${home}/control/servercert.pem`);
  return new crypto.X509Certificate(text.slice(text.indexOf("-----BEGIN CERTIFICATE")));
}

Deno.test("qmd init: creates a home, then reports nothing to do; bad flags give 64", async () => {
  const parent = await Deno.makeTempDir();
  const home = `${parent}/home`;
  try {
    const first = await captureConsole(() => main(["--home", home, "--me", "Mx.Example.com"]));
    assertEquals(first.result, 0);
    assertEquals(Deno.readTextFileSync(`${home}/control/me`), "mx.example.com\n");
    assert(Deno.statSync(`${home}/queue/lock/trigger`).isFifo);
    assert(first.out.some((line) => line.endsWith("/control/rcpthosts")));
    const again = await captureConsole(() => main(["--home", home]));
    assertEquals(again.result, 0);
    assertStringIncludes(again.out.join("\n"), "nothing to create");

    for (const args of [["--bogus"], ["--me", "not a host"], ["extra"]]) {
      const bad = await captureConsole(() => main(["--home", home, ...args]));
      assertEquals(bad.result, 64, args.join(" "));
      assertEquals(bad.err.length, 1);
    }
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("qmd init --me on an existing home renames the host in what init wrote, and says so", async () => {
  const home = await Deno.makeTempDir();
  try {
    // A first start on a host whose name has no dot: me is localhost.
    const made = await initHome(home, { hostname: "vm" });
    assertEquals(Deno.readTextFileSync(`${home}/control/me`), "localhost\n");
    assertEquals(made.notes.length, 1);
    assertStringIncludes(made.notes[0], 'this host\'s name "vm" has no dot');
    assertStringIncludes(made.notes[0], "--me HOST");

    const renamed = await captureConsole(() => main(["--home", home, "--me", "mx.example.com"]));
    assertEquals(renamed.result, 0);
    const read = (name: string) => Deno.readTextFileSync(`${home}/control/${name}`);
    assertEquals(read("me"), "mx.example.com\n");
    assertEquals(read("defaultdomain"), "example.com\n");
    assertEquals(read("plusdomain"), "example.com\n");
    assertEquals(read("locals"), "localhost\nmx.example.com\n");
    assertEquals(read("rcpthosts"), "localhost\nmx.example.com\n");
    assertEquals(certificateOf(home).subject, "CN=mx.example.com");
    const said = renamed.out.join("\n");
    assertStringIncludes(said, "control/me: localhost -> mx.example.com");
    assertStringIncludes(said, "control/locals: added mx.example.com");
    assertStringIncludes(said, "control/servercert.pem: a new self-signed certificate");
    assert(!said.includes("nothing to create"), said);

    // What the operator wrote stays, and init says it left it.
    Deno.writeTextFileSync(`${home}/control/plusdomain`, "example.net\n");
    const own = await createSelfSignedCertificate({ commonName: "mx.example.com" });
    Deno.writeTextFileSync(`${home}/control/servercert.pem`, own.keyPem + own.certPem);
    const before = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const again = await captureConsole(() => main(["--home", home, "--me", "mail.example.org"]));
    assertEquals(again.result, 0);
    assertEquals(read("me"), "mail.example.org\n");
    assertEquals(read("defaultdomain"), "example.org\n");
    assertEquals(read("plusdomain"), "example.net\n");
    assertEquals(read("locals"), "localhost\nmx.example.com\nmail.example.org\n");
    const told = again.out.join("\n");
    assertStringIncludes(told, "control/plusdomain left as it is (example.net)");
    assertStringIncludes(told, "still list mx.example.com");
    assertStringIncludes(told, "control/servercert.pem left as it is");
    assertEquals(Deno.readTextFileSync(`${home}/control/servercert.pem`), before);

    const same = await captureConsole(() => main(["--home", home, "--me", "mail.example.org"]));
    assertEquals(same.out[0], "qmd init: control/me is already mail.example.org");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("qmd init: an empty control/me is refused until --me names the host; no dot warns", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mx.example.com" });
    Deno.writeTextFileSync(`${home}/control/me`, "\n");
    const refused = await captureConsole(() => main(["--home", home]));
    assertEquals(refused.result, 100);
    assertEquals(refused.err.length, 1);
    assertStringIncludes(refused.err[0], `${home}/control/me is empty`);
    await captureConsole(async () => {
      let thrown: unknown;
      await initHome(home).catch((error) => thrown = error);
      assertStringIncludes(String(thrown), "control/me is empty");
    });

    const fixed = await captureConsole(() => main(["--home", home, "--me", "mailhost"]));
    assertEquals(fixed.result, 0);
    assertEquals(Deno.readTextFileSync(`${home}/control/me`), "mailhost\n");
    assertEquals(fixed.err.length, 1);
    assertStringIncludes(fixed.err[0], "warning: mailhost has no dot");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("qmd init under umask 000 still makes the home and its parents 0755", async () => {
  const base = await Deno.makeTempDir();
  const home = `${base}/a/b/home`;
  try {
    const result = await new Deno.Command("sh", {
      args: [
        "-c",
        'umask 000; exec "$@"',
        "sh",
        Deno.execPath(),
        "run",
        ...RUN_FLAGS,
        MAIN,
        "init",
        "--home",
        home,
        "--me",
        "mx.example.com",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
    const mode = (path: string) => ((Deno.statSync(path).mode ?? 0) & 0o777).toString(8);
    for (const path of [`${base}/a`, `${base}/a/b`, home, `${home}/control`, `${home}/mail`]) {
      assertEquals(mode(path), "755", path);
    }
    assertEquals(mode(`${home}/control/me`), "644");
    assertEquals(mode(`${home}/control/servercert.pem`), "600");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
