/**
 * The architecture's boundaries (architecture.md §3), held against the real
 * source: config/ is a leaf, no role imports another role, only roles/ and
 * net/ open sockets, protocol cores do no I/O, and mod.ts has no side effects.
 */
import { assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(path);
  }
  return files;
}

function imports(path: string): string[] {
  const text = Deno.readTextFileSync(`${ROOT}${path}`);
  return [
    ...text.matchAll(
      /(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
    ),
  ]
    .map((match) => match[1] ?? match[2]);
}

function resolve(from: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  return new URL(specifier, `file:///${from}`).pathname.slice(1);
}

Deno.test("architecture: config/ is a leaf that never imports appliance/", () => {
  const offenders = sourceFiles("config").flatMap((file) =>
    imports(file).map((spec) => resolve(file, spec)).filter((target) =>
      target.startsWith("appliance/")
    )
      .map((target) => `${file} -> ${target}`)
  );
  assertEquals(offenders, []);
});

Deno.test("architecture: no role imports another role", () => {
  const offenders = sourceFiles("appliance/roles").flatMap((file) =>
    imports(file).map((spec) => resolve(file, spec)).filter((target) =>
      target.startsWith("appliance/roles/") && target !== file
    ).map((target) => `${file} -> ${target}`)
  );
  assertEquals(offenders, []);
});

Deno.test("architecture: only roles/ and net/ open sockets", () => {
  const offenders = sourceFiles("appliance").filter((file) =>
    !file.startsWith("appliance/roles/") && !file.startsWith("appliance/net/") &&
    !file.startsWith("appliance/remote/") && file !== "appliance/dns/transport.ts"
  ).filter((file) => {
    const text = Deno.readTextFileSync(`${ROOT}${file}`);
    // tls/ builds secure contexts with node:tls but must not open or wrap a socket.
    if (file.startsWith("appliance/tls/")) {
      return /\b(connect|createServer|listen)\(|new\s+tls\.TLSSocket|Deno\.(listen|connect)/.test(
        text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ""),
      );
    }
    return /from\s+["']node:(net|tls|dgram)["']|Deno\.(listen|connect|listenTls|connectTls)\(/.test(
      text,
    );
  });
  assertEquals(offenders, []);
});

Deno.test("architecture: protocol cores do no I/O, read no clock and draw no randomness", () => {
  const cores = [
    ...sourceFiles("appliance/smtp"),
    ...sourceFiles("appliance/send"),
    // The POP3 core; maildir_box.ts is its Maildir I/O, on purpose.
    ...sourceFiles("appliance/pop3").filter((file) => !file.endsWith("/maildir_box.ts")),
  ];
  const offenders = cores.filter((file) => {
    const text = Deno.readTextFileSync(`${ROOT}${file}`).replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
    return /\bDeno\.|from\s+["']node:(fs|net|tls|child_process)["']|Date\.now\(|new Date\(\)|Math\.random\(/
      .test(text);
  });
  assertEquals(offenders, []);
});

Deno.test("architecture: mod.ts only exports (no side effects on import)", () => {
  const text = Deno.readTextFileSync(`${ROOT}mod.ts`).replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /\/\/.*$/gm,
    "",
  );
  const statements = text.split(";").map((s) => s.trim()).filter((s) => s.length > 0);
  const others = statements.filter((s) => !/^export\s/.test(s) && !/^\]$/.test(s));
  assertEquals(others, []);
});

Deno.test("architecture: every Worker module the supervisor starts is in deno compile's --include list", async () => {
  const { COMPILE_INCLUDES } = await import("../mod.ts");
  const supervisor = Deno.readTextFileSync(`${ROOT}appliance/supervisor.ts`);
  const workers = [
    ...supervisor.matchAll(/new URL\("\.\/(roles\/[a-z_]+\.ts)", import\.meta\.url\)/g),
  ]
    .map((match) => `appliance/${match[1]}`);
  assertEquals(workers.length > 0, true);
  assertEquals(workers.filter((path) => !COMPILE_INCLUDES.includes(path)), []);
});
