/**
 * The architecture's boundaries (architecture.md §3), held against the real
 * source: config/ is a leaf, no role entry module imports another role entry
 * module, only an allow-listed set of modules opens sockets, protocol cores
 * do no I/O, and mod.ts has no side effects.
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

/** The modules reachable from `entry` through relative imports, itself included. */
function importClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file) || !file.endsWith(".ts")) continue;
    seen.add(file);
    for (const spec of imports(file)) {
      if (spec.startsWith(".")) pending.push(resolve(file, spec));
    }
  }
  return seen;
}

Deno.test("architecture: no role entry module imports another role entry module", async () => {
  // The entry modules are the Worker modules the supervisor starts (mod.ts's
  // COMPILE_INCLUDES, held against role_table.ts below); shared skeletons may
  // live beside them.
  const { COMPILE_INCLUDES } = await import("../mod.ts");
  const offenders = COMPILE_INCLUDES.flatMap((entry) =>
    [...importClosure(entry)].filter((file) => file !== entry && COMPILE_INCLUDES.includes(file))
      .map((file) => `${entry} -> ${file}`)
  );
  assertEquals(offenders, []);
});

/**
 * The modules that own sockets (architecture.md §3 rule 4): net/'s adapters
 * and listeners, remote delivery's connect and client connection (the SMTP
 * and QMTP attempts go through them), and the resolver's transport. Every
 * other module may not import node:net, node:tls or node:dgram (a type-only
 * import is fine: it is gone at run time) or call Deno.listen/connect; tls/
 * may import node:tls to build secure contexts, but not open or wrap a socket.
 */
const SOCKET_OWNERS: readonly string[] = [
  "appliance/net/free_port.ts",
  "appliance/net/listen_probe.ts",
  "appliance/roles/listener_role.ts",
  "appliance/net/socket_transport.ts",
  "appliance/remote/open_socket.ts",
  "appliance/remote/client_socket.ts",
  "appliance/dns/transport.ts",
];

const SOCKET_IMPORT =
  /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+["']node:(?:net|tls|dgram)["']|import\(\s*["']node:(?:net|tls|dgram)["']\s*\)/m;
const DENO_SOCKET = /\bDeno\.(?:listen|connect|listenTls|connectTls|listenDatagram|startTls)\(/;

Deno.test("architecture: only the allow-listed modules open sockets", () => {
  const missing = SOCKET_OWNERS.filter((file) => !sourceFiles("appliance").includes(file));
  assertEquals(missing, [], "allow-listed modules that no longer exist");
  const offenders = sourceFiles("appliance").filter((file) => !SOCKET_OWNERS.includes(file))
    .filter((file) => {
      const text = Deno.readTextFileSync(`${ROOT}${file}`).replace(
        /\/\/.*$|\/\*[\s\S]*?\*\//gm,
        "",
      );
      if (file.startsWith("appliance/tls/")) {
        return /\b(connect|createServer|listen)\(|new\s+tls\.TLSSocket/.test(text) ||
          DENO_SOCKET.test(text);
      }
      return SOCKET_IMPORT.test(text) || DENO_SOCKET.test(text);
    });
  assertEquals(offenders, []);
});

Deno.test("architecture: protocol cores do no I/O, read no clock and draw no randomness", () => {
  const cores = [
    ...sourceFiles("appliance/smtp"),
    // qmail-send's scheduling; send/engine/ is the loop that runs it over the queue (I/O).
    ...sourceFiles("appliance/send").filter((file) => !file.startsWith("appliance/send/engine/")),
    // The POP3 core; maildir_box.ts is its Maildir I/O, on purpose.
    ...sourceFiles("appliance/pop3").filter((file) => !file.endsWith("/maildir_box.ts")),
    // The neutral helpers the cores share: byte strings, qmail's date and quoting.
    "appliance/bytes.ts",
    "appliance/date822.ts",
    "appliance/quote_address.ts",
  ];
  const offenders = cores.filter((file) => {
    const text = Deno.readTextFileSync(`${ROOT}${file}`).replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
    return /\bDeno\.|from\s+["']node:(fs|net|tls|child_process)["']|Date\.now\(|new Date\(\)|Math\.random\(/
      .test(text);
  });
  assertEquals(offenders, []);
});

Deno.test("architecture: send/'s scheduling imports nothing from queue/ (no queue <-> send cycle)", () => {
  // queue/ calls the scheduling (routing, bounce text); send/engine/ runs it over queue/.
  const offenders = sourceFiles("appliance/send").filter((file) =>
    !file.startsWith("appliance/send/engine/")
  ).flatMap((file) =>
    imports(file).map((spec) => resolve(file, spec)).filter((target) =>
      target.startsWith("appliance/queue/")
    ).map((target) => `${file} -> ${target}`)
  );
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
  const table = Deno.readTextFileSync(`${ROOT}appliance/role_table.ts`);
  const workers = [
    ...table.matchAll(/new URL\("\.\/(roles\/[a-z_]+\.ts)", import\.meta\.url\)/g),
  ]
    .map((match) => `appliance/${match[1]}`);
  assertEquals(workers.length > 0, true);
  assertEquals(workers.filter((path) => !COMPILE_INCLUDES.includes(path)), []);
});
