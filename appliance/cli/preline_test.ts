import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { RUN_FLAGS } from "../../mod.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const ENV = {
  UFLINE: "From a@example.org Thu Jan  1 00:00:00 1970\n",
  RPLINE: "Return-Path: <a@example.org>\n",
  DTLINE: "Delivered-To: joe@example.test\n",
};

/** preline (qmd under that name) with `args`, the message on stdin; its exit code and stderr. */
async function preline(
  args: string[],
  input: Uint8Array,
  env: Record<string, string> = ENV,
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, MAIN, ...args],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", QMD_ARGV0: "/var/qmail/bin/preline", ...env },
  }).spawn();
  const writing = (async () => {
    const writer = child.stdin.getWriter();
    await writer.write(input).catch(() => {});
    await writer.close().catch(() => {});
  })();
  const [output] = await Promise.all([child.output(), writing]);
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("preline: From_, Return-Path and Delivered-To before the message; cmd's exit code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qmd-preline-" });
  try {
    const message = new TextEncoder().encode("Subject: hi\n\nbody\n");
    const ran = await preline(["/bin/sh", "-c", `cat > ${dir}/all; exit 7`], message);
    assertEquals(ran.code, 7);
    assertEquals(
      Deno.readTextFileSync(`${dir}/all`),
      ENV.UFLINE + ENV.RPLINE + ENV.DTLINE + "Subject: hi\n\nbody\n",
    );
    const some = await preline(["-fd", "/bin/sh", "-c", `cat > ${dir}/some`], message);
    assertEquals(some.code, 0);
    assertEquals(Deno.readTextFileSync(`${dir}/some`), ENV.RPLINE + "Subject: hi\n\nbody\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("preline: usage and 100 without the variables or a cmd; -p lets cmd stop reading", async () => {
  const none = await preline(["cat"], new Uint8Array(0), {});
  assertEquals(none.code, 100);
  assertStringIncludes(none.stderr, "preline: usage: preline cmd [ arg ... ]");
  assertEquals((await preline([], new Uint8Array(0))).code, 100);
  // A cmd that exits without reading a large message: EPIPE is a temporary failure, unless -p.
  const big = new Uint8Array(4 * 1024 * 1024).fill(0x78);
  const broken = await preline(["/bin/sh", "-c", "exec 0<&-; sleep 0.2"], big);
  assertEquals(broken.code, 111, broken.stderr);
  assertEquals((await preline(["-p", "/bin/sh", "-c", "exec 0<&-; sleep 0.2"], big)).code, 0);
});
