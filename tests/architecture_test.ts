/**
 * The architecture's boundaries (docs/design.md), held against
 * the real source: config/ is a leaf, no role entry module imports another
 * role entry module, only an allow-listed set of modules opens sockets, pure
 * modules reach no I/O through anything they import, appliance/'s folders
 * import each other without cycles, only queue/layout.ts spells queue paths,
 * files stay within their size budget, and mod.ts has no side effects.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  cycles,
  importChain,
  importClosure,
  importsOf,
  importTargets,
  lineCount,
  resolveSpecifier,
  ROOT,
  sourceFiles,
  sourceText,
  stringLiterals,
  withoutComments,
} from "./import_graph.ts";

const APPLIANCE = sourceFiles("appliance");
/** The source the rules hold for: the appliance, config/ and the two top-level modules. */
const SOURCE = [...APPLIANCE, ...sourceFiles("config"), "main.ts", "mod.ts"];

Deno.test("architecture: config/ is a leaf that never imports appliance/", () => {
  const offenders = sourceFiles("config").flatMap((file) =>
    importTargets(file).filter((target) => target.startsWith("appliance/"))
      .map((target) => `${file} -> ${target}`)
  );
  assertEquals(offenders, []);
});

Deno.test("architecture: no role entry module imports another role entry module", async () => {
  // The entry modules are the Worker modules the supervisor starts (mod.ts's
  // COMPILE_INCLUDES, held against role_table.ts below); shared skeletons may
  // live beside them.
  const { COMPILE_INCLUDES } = await import("../mod.ts");
  const offenders = COMPILE_INCLUDES.flatMap((entry) =>
    [...importClosure(entry).keys()].filter((file) =>
      file !== entry && COMPILE_INCLUDES.includes(file)
    )
      .map((file) => `${entry} -> ${file}`)
  );
  assertEquals(offenders, []);
});

/**
 * The modules that own sockets (docs/design.md rule 4): net/'s adapters
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
  // clamd's INSTREAM conversation (TCP or its Unix socket).
  "appliance/scan/clamd_client.ts",
  // The admin console's HTTP listener (Deno.serve).
  "appliance/roles/admin.ts",
  // The HTTP-01 challenge's responder (Deno.serve), open while an ACME order runs.
  "appliance/tls/acme_http.ts",
];

const SOCKET_MODULES = new Set(["node:net", "node:tls", "node:dgram"]);
const DENO_SOCKET =
  /\bDeno\.(?:listen|connect|listenTls|connectTls|listenDatagram|startTls|serve)\(/;

Deno.test("architecture: only the allow-listed modules open sockets", () => {
  const missing = SOCKET_OWNERS.filter((file) => !APPLIANCE.includes(file));
  assertEquals(missing, [], "allow-listed modules that no longer exist");
  const offenders = APPLIANCE.filter((file) => !SOCKET_OWNERS.includes(file))
    .filter((file) => {
      const text = withoutComments(sourceText(file));
      if (file.startsWith("appliance/tls/")) {
        return /\b(connect|createServer|listen)\(|new\s+tls\.TLSSocket/.test(text) ||
          DENO_SOCKET.test(text);
      }
      return importsOf(text).some((ref) => !ref.typeOnly && SOCKET_MODULES.has(ref.specifier)) ||
        DENO_SOCKET.test(text);
    });
  assertEquals(offenders, []);
});

/**
 * The pure modules (docs/design.md rule 1): protocol cores, envelope and
 * header formats, .qmail parsing, SASL mechanisms, bounce text, retry and
 * routing, and the neutral helpers they share. Time, ids, randomness and
 * lookups come in as arguments. A folder counts whole, so a module split out
 * of a core later is held too; its exceptions are the folder's I/O, named.
 */
const PURE_FOLDERS: Readonly<Record<string, readonly string[]>> = {
  // qmail-smtpd's session, the DATA byte machine, replies, the SMTP client session.
  "appliance/smtp": [],
  // MTA-STS texts (RFC 8461): record, policy file, mx patterns, the served policy.
  "appliance/mta_sts": [],
  // The POP3 core; maildir_box.ts is its Maildir I/O.
  "appliance/pop3": ["appliance/pop3/maildir_box.ts"],
  // qmail-send's scheduling: routing, retry, bounce text, VERP, BATV, remote
  // reports. send/engine/ is the loop that runs it over the queue (I/O).
  "appliance/send": ["appliance/send/engine/"],
  // SASL mechanisms and the checkpassword format; challenge.ts draws random
  // challenges and verifier.ts reads the accounts database and runs checkpassword.
  "appliance/auth": ["appliance/auth/challenge.ts", "appliance/auth/verifier.ts"],
  // qmail-inject's header rewriting and RFC 822 tokens.
  "appliance/qmail_inject": [],
  // The controls table.
  "config/controls": [],
  // The anti-spam and policy checks and their seam, the clamd verdict and the
  // signature scanner; lookups.ts runs their lookups (I/O, named when it
  // comes). Talking to clamd is appliance/scan/ (I/O).
  "appliance/filters": [],
  // The decision trace's format, its printing and the dry run of the checks; store.ts
  // writes and reads the trace files, dry_run_lookups.ts asks DNS and runs programs.
  "appliance/trace": ["appliance/trace/store.ts", "appliance/trace/dry_run_lookups.ts"],
};

const PURE_FILES: readonly string[] = [
  // Envelope formats: the todo/intd records, qmail-queue's Received line.
  "appliance/queue/envelope.ts",
  "appliance/queue/received.ts",
  "appliance/queue/error_text.ts",
  // .qmail parsing, qmail-local's header lines, its error permanence.
  "appliance/deliver/dot_qmail.ts",
  "appliance/deliver/headers.ts",
  "appliance/deliver/delivery_error.ts",
  // DNS messages and what an answer means.
  "appliance/dns/wire.ts",
  "appliance/dns/answer.ts",
  // PEM blocks, X.509 as plain data, the client-certificate decision, showctl's summary.
  "appliance/tls/pem.ts",
  "appliance/tls/certificate.ts",
  "appliance/tls/client_certificate.ts",
  "appliance/tls/acme_schedule.ts",
  "appliance/cli/pem_summary.ts",
  // Line framing and the loopback test of the listeners.
  "appliance/net/line_buffer.ts",
  "appliance/loopback.ts",
  // Account names.
  "appliance/accounts/account_names.ts",
  // The neutral helpers: byte strings, qmail's date, quoting and log text; the role messages.
  "appliance/bytes.ts",
  "appliance/date822.ts",
  "appliance/quote_address.ts",
  "appliance/log_text.ts",
  "appliance/ipc.ts",
  "config/ascii.ts",
  "config/byte_string.ts",
  "config/controls.ts",
];

function pureModules(): string[] {
  const fromFolders = Object.entries(PURE_FOLDERS).flatMap(([folder, exceptions]) =>
    sourceFiles(folder).filter((file) =>
      !exceptions.some((exception) =>
        exception.endsWith("/") ? file.startsWith(exception) : file === exception
      )
    )
  );
  return [...fromFolders, ...PURE_FILES];
}

/** Node modules that reach files, sockets, processes, databases or the host. */
const IO_MODULES = new Set([
  "node:fs",
  "node:fs/promises",
  "node:net",
  "node:tls",
  "node:dgram",
  "node:child_process",
  "node:sqlite",
  "node:os",
]);

/**
 * What makes a module do I/O by itself: Deno's file, network, process and
 * environment calls (its error classes and types aside), the clock, and
 * randomness.
 */
const IO_CALL =
  /\bDeno\.(?!errors\b)[a-z]\w*|\bDate\.now\(|\bnew Date\(\)|\bperformance\.now\(|\bMath\.random\b|\bcrypto\.(?:getRandomValues|randomUUID)\b|\brandom(?:Bytes|Int|UUID|Fill)(?:Sync)?\b/;

/** Why a module does I/O by itself, or undefined when it does none. */
function ioIn(text: string): string | undefined {
  const io = importsOf(text).find((ref) => !ref.typeOnly && IO_MODULES.has(ref.specifier));
  if (io !== undefined) return `imports ${io.specifier}`;
  const call = IO_CALL.exec(withoutComments(text));
  return call === null ? undefined : `uses ${call[0]}`;
}

Deno.test("architecture: the I/O scanner sees the forms in use", () => {
  assertEquals(ioIn(`import { openSync } from "node:fs";`), "imports node:fs");
  assertEquals(ioIn(`import type { Socket } from "node:net";`), undefined);
  assertEquals(ioIn(`const t = Date.now();`), "uses Date.now(");
  assertEquals(ioIn(`const d = new Date();`), "uses new Date()");
  assertEquals(ioIn(`const d = new Date(0); // Date.now()`), undefined);
  assertEquals(ioIn(`random: Math.random,`), "uses Math.random");
  assertEquals(ioIn(`crypto.getRandomValues(bytes)`), "uses crypto.getRandomValues");
  assertEquals(ioIn(`const id = randomInt(0, 9);`), "uses randomInt");
  assertEquals(ioIn(`Deno.readTextFileSync(path)`), "uses Deno.readTextFileSync");
  assertEquals(ioIn(`if (error instanceof Deno.errors.NotFound) {} let e: Deno.Env;`), undefined);
});

Deno.test("architecture: pure modules reach no I/O through what they import", () => {
  const pure = pureModules();
  const listed = [...Object.keys(PURE_FOLDERS), ...PURE_FILES].filter((path) => {
    try {
      Deno.statSync(`${ROOT}${path}`);
      return false;
    } catch {
      return true;
    }
  });
  assertEquals(listed, [], "listed pure modules or folders that no longer exist");
  assert(pure.length > 40, `the list found ${pure.length} pure modules`);
  // Type-only imports are followed no further: they are erased at run time.
  const offenders = pure.flatMap((entry) => {
    const closure = importClosure(entry, { runtime: true });
    return [...closure.keys()].flatMap((file) => {
      const io = ioIn(sourceText(file));
      return io === undefined ? [] : [`${importChain(closure, file)} (${io})`];
    });
  });
  assertEquals(offenders, []);
});

/**
 * A file's folder in the folder graph: appliance/<folder>, with send/engine/
 * a folder of its own (it runs send/'s pure scheduling over queue/, which
 * itself uses the scheduling: queue/ -> send/ and send/engine/ -> queue/ is
 * the design, not a cycle). Modules at appliance/'s top are neutral helpers
 * and the supervisor; each is a node of its own.
 */
function folderOf(file: string): string | undefined {
  if (!file.startsWith("appliance/")) return undefined;
  const parts = file.split("/");
  if (parts.length === 2) return file;
  if (parts[1] === "send" && parts[2] === "engine" && parts.length > 3) {
    return "appliance/send/engine";
  }
  return `appliance/${parts[1]}`;
}

Deno.test("architecture: the cycle finder sees a cycle through three folders", () => {
  const graph = new Map([
    ["a", new Set(["b"])],
    ["b", new Set(["c"])],
    ["c", new Set(["a", "d"])],
    ["d", new Set<string>()],
  ]);
  assertEquals(cycles(graph), [["a", "b", "c"]]);
  assertEquals(folderOf("appliance/send/engine/send_engine.ts"), "appliance/send/engine");
  assertEquals(folderOf("appliance/send/routing.ts"), "appliance/send");
});

Deno.test("architecture: appliance/'s folders import each other without cycles", () => {
  // Every import counts, type-only ones too: a type still ties one folder to another.
  const graph = new Map<string, Set<string>>();
  const why = new Map<string, string[]>();
  for (const file of APPLIANCE) {
    const from = folderOf(file)!;
    for (const target of importTargets(file)) {
      const to = folderOf(target);
      if (to === undefined || to === from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
      const edge = `${from} -> ${to}`;
      why.set(edge, [...why.get(edge) ?? [], `${file} -> ${target}`]);
    }
  }
  const found = cycles(graph).map((component) => ({
    folders: component,
    imports: [...why].filter(([edge]) =>
      component.some((from) => component.some((to) => edge === `${from} -> ${to}`))
    ).flatMap(([, files]) => files),
  }));
  assertEquals(found, []);
});

/**
 * Queue path components (docs/queue-format.md §2.1) next to a slash: a path
 * being built. /usr/local is a system directory, not the queue's local/.
 */
const QUEUE_PATH =
  /(?:^|(?<!\/usr)\/)(?:mess|intd|todo|info|pid|bounce|local|remote|lock)\/|(?<!\/usr)\/(?:mess|intd|todo|info|pid|bounce|local|remote|lock)$/;

/** The literals in `text` that spell a queue path; module specifiers aside. */
function queuePathLiterals(text: string): string[] {
  return stringLiterals(text).filter((parts) =>
    !(parts.length === 1 && /^\.\.?\/.*\.ts$/.test(parts[0])) &&
    parts.some((part) => QUEUE_PATH.test(part))
  ).map((parts) => parts.join("${}"));
}

Deno.test("architecture: the queue path scanner sees templates and skips specifiers", () => {
  assertEquals(
    queuePathLiterals(
      'import { x } from "../remote/tcpto.ts";\n' +
        'const a = `${root}/lock/tcpto`; const b = `${q}/mess`; const c = "todo/" + id;\n' +
        'const d = "remote"; const e = "qmail-remote"; // `${root}/pid`\n' +
        'const f = "/usr/local/bin/qmd";',
    ),
    ["${}/lock/tcpto", "${}/mess", "todo/"],
  );
});

Deno.test("architecture: only queue/layout.ts spells queue paths", () => {
  // Test helpers (test_*.ts) build queues by hand on purpose, as another
  // qmail-queue would; tests are not held to it either.
  const offenders = SOURCE.filter((file) =>
    file !== "appliance/queue/layout.ts" && !file.split("/").pop()!.startsWith("test_")
  ).flatMap((file) =>
    queuePathLiterals(sourceText(file)).map((literal) => `${file}: \`${literal}\``)
  );
  assertEquals(offenders, []);
});

const SOURCE_BUDGET = 500;
const ROLE_BUDGET = 200;

Deno.test("architecture: no source file over 500 lines, no role entry file over 200", async () => {
  // Role entry files are the Worker modules the supervisor starts (style.md §7:
  // a role file past about 200 lines is leaking logic).
  const { COMPILE_INCLUDES } = await import("../mod.ts");
  const over = SOURCE.flatMap((file) => {
    const lines = lineCount(sourceText(file));
    const budget = COMPILE_INCLUDES.includes(file) ? ROLE_BUDGET : SOURCE_BUDGET;
    return lines > budget ? [`${file}: ${lines} lines (budget ${budget})`] : [];
  });
  assertEquals(over, []);
});

Deno.test("architecture: mod.ts only exports (no side effects on import)", () => {
  const statements = withoutComments(sourceText("mod.ts")).split(";").map((s) => s.trim())
    .filter((s) => s.length > 0);
  const others = statements.filter((s) => !/^export\s/.test(s) && !/^\]$/.test(s));
  assertEquals(others, []);
});

Deno.test("architecture: every Worker module the supervisor starts is in deno compile's --include list", async () => {
  const { COMPILE_INCLUDES } = await import("../mod.ts");
  const table = sourceText("appliance/role_table.ts");
  const workers = [
    ...table.matchAll(/new URL\("\.\/(roles\/[a-z_]+\.ts)", import\.meta\.url\)/g),
  ]
    .map((match) => resolveSpecifier("appliance/role_table.ts", `./${match[1]}`));
  assertEquals(workers.length > 0, true);
  assertEquals(workers.filter((path) => !COMPILE_INCLUDES.includes(path)), []);
});

Deno.test("architecture: no module a Worker runs locates a file beside its source (deno compile would not carry it)", async () => {
  // A compiled qmd holds only modules: a role that read a stylesheet or a
  // template next to itself through import.meta would find nothing. The admin
  // console's assets are a module (admin/assets.ts) for this reason. x509.ts's
  // createRequire(import.meta.url) resolves npm packages, which compile embeds.
  const { COMPILE_INCLUDES } = await import("../mod.ts");
  const locating = /import\.meta\.(url|dirname|filename)/;
  const offenders = COMPILE_INCLUDES.flatMap((entry) => {
    const closure = importClosure(entry, { runtime: true });
    return [...closure.keys()].filter((file) =>
      file !== "appliance/tls/x509.ts" && locating.test(withoutComments(sourceText(file)))
    ).map((file) => importChain(closure, file));
  });
  assertEquals(offenders, []);
  const admin = importClosure("appliance/roles/admin.ts", { runtime: true });
  assert(
    admin.has("appliance/admin/assets.ts"),
    "the console's assets are not a module it imports",
  );
});
