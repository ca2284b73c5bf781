import { assert, assertEquals, assertMatch, assertThrows } from "../tests/assert.ts";
import { ControlError } from "./control.ts";
import { buildCdb, cdbHash, CdbReader, readCdbRecords } from "./cdb.ts";
import {
  compileTcpRules,
  formatTcpRules,
  loadTcpRules,
  parseTcpRules,
  type TcpRuleFacts,
  tcpRuleKeys,
  type TcpRuleMatch,
  tcpRulesFromCdb,
  tcpRulesFromText,
} from "./tcprules.ts";
import { byteString } from "./byte_string.ts";

const FIXTURES = new URL("../tests/fixtures/tcprules/", import.meta.url).pathname;
const FIXTURE_TEXT = byteString(Deno.readFileSync(`${FIXTURES}tcp.smtp`));
const FIXTURE_CDB = Deno.readFileSync(`${FIXTURES}tcp.smtp.cdb`);

function keysOf(cdb: Uint8Array): string[] {
  return readCdbRecords(cdb).map((record) => byteString(record.key));
}

function dataOf(cdb: Uint8Array): string[] {
  return readCdbRecords(cdb).map((record) => byteString(record.data));
}

function compileText(text: string): Uint8Array {
  return compileTcpRules(parseTcpRules(text, "rules"));
}

function parseError(text: string): ControlError {
  return assertThrows(() => parseTcpRules(text, "/etc/tcp.smtp"), ControlError);
}

Deno.test("parseTcpRules: comments, blank lines and lines without a colon are skipped", () => {
  const rules = parseTcpRules(
    "# comment: with a colon\n\nno colon here\n   \n127.:allow\n:deny\n=.example.com:allow",
    "f",
  );
  assertEquals(rules, [
    { address: "127.", deny: false, env: [], line: 5 },
    { address: "", deny: true, env: [], line: 6 },
    { address: "=.example.com", deny: false, env: [], line: 7 },
  ]);
});

Deno.test("parseTcpRules: any single character quotes a value; trailing blanks go", () => {
  const [rule] = parseTcpRules(
    '10.:allow,RELAYCLIENT="",GREETING=/a, "b" c/,SEP=,x=y,,N=xx,CR="a\rb" \t\n',
    "f",
  );
  assertEquals(rule.env, [
    ["RELAYCLIENT", ""],
    ["GREETING", 'a, "b" c'],
    ["SEP", "x=y"],
    ["N", ""],
    ["CR", "a\rb"],
  ]);
  // deny takes variables too; the name runs up to the first "=", so it may hold a comma.
  assertEquals(parseTcpRules("1.2.3.4:deny,A,B=|v|", "f")[0], {
    address: "1.2.3.4",
    deny: true,
    env: [["A,B", "v"]],
    line: 1,
  });
  // A "#" not in the first column is no comment, and leading blanks stay in the address.
  assertEquals(parseTcpRules(" #x:allow", "f")[0].address, " #x");
});

Deno.test("parseTcpRules: a bad instruction is a ControlError naming file and line", () => {
  const cases: [string, number, RegExp][] = [
    ["127.:alow\n", 1, /allow or deny/],
    ["# ok\n127.:allowed\n", 2, /VAR=/],
    ["\n\n127.:allow,RELAYCLIENT\n", 3, /without =/],
    ["127.:allow,A=\n", 1, /no quoted value/],
    ['127.:allow,A="x\n', 1, /no closing "/],
    ["127.:allow,\n", 1, /without =/],
    ['127.:allow,A="x"junk\n', 1, /VAR=/],
    ["127.:allow\r\n", 1, /carriage return/],
    ["1.2.3.a-3:allow\n", 1, /range/],
    ["1.2.3.4-5x:allow\n", 1, /range/],
    ["1.2.3.4-5-6:allow\n", 1, /range/],
    ["a:b:allow\n", 1, /allow or deny/],
    ["::1:allow\n", 1, /allow or deny/],
  ];
  for (const [text, line, reason] of cases) {
    const error = parseError(text);
    assertEquals(error.file, "/etc/tcp.smtp", text);
    assertEquals(error.line, line, text);
    assert(reason.test(error.message), `${JSON.stringify(text)}: ${error.message}`);
    assert(error.message.startsWith(`/etc/tcp.smtp line ${line}: `), error.message);
  }
});

Deno.test("compileTcpRules: ranges expand into one key per number, capped at 255", () => {
  assertEquals(keysOf(compileText("10.2-3.:allow\n")), ["10.2.", "10.3."]);
  assertEquals(
    keysOf(compileText("1.2.3.37-53:allow\n")),
    Array.from({ length: 17 }, (_, i) => `1.2.3.${37 + i}`),
  );
  assertEquals(keysOf(compileText("1.2.3.250-300:allow\n")), [
    "1.2.3.250",
    "1.2.3.251",
    "1.2.3.252",
    "1.2.3.253",
    "1.2.3.254",
    "1.2.3.255",
  ]);
  // A lower bound above the upper one gives no key; empty bounds are 0; numbers lose leading zeros.
  assertEquals(keysOf(compileText("1.2.3.9-3:deny\n")), []);
  assertEquals(keysOf(compileText("1.2.-1.:deny\n")), ["1.2.0.", "1.2.1."]);
  assertEquals(keysOf(compileText("1.2.007-009.x:deny\n")), ["1.2.7.x", "1.2.8.x", "1.2.9.x"]);
  assertEquals(keysOf(compileText("3-4:deny\n")), ["3", "4"]);
  // No expansion in host names or info rules.
  assertEquals(keysOf(compileText("=mail-1.example.com:allow\njoe@1.2.3.4-5:allow\n")), [
    "=mail-1.example.com",
    "joe@1.2.3.4-5",
  ]);
});

Deno.test("compileTcpRules: data is D\\0 for deny, then +VAR=value\\0 per variable", () => {
  const cdb = compileText('1.2.3.4:deny\n5.:allow,A="1",B=/two/\n6.:deny,C=""\n:allow\n');
  assertEquals(keysOf(cdb), ["1.2.3.4", "5.", "6.", ""]);
  assertEquals(dataOf(cdb), ["D\0", "+A=1\0+B=two\0", "D\0+C=\0", ""]);
});

Deno.test("compileTcpRules: the bytes of a one-rule cdb, computed by hand (§10.3)", () => {
  const cdb = compileText("1.2.3.4:deny\n");
  const key = new TextEncoder().encode("1.2.3.4");
  const hash = cdbHash(key);
  const expected = new Uint8Array(2048 + 8 + 7 + 2 + 16);
  const view = new DataView(expected.buffer);
  const tables = 2048 + 8 + 7 + 2;
  for (let i = 0; i < 256; i++) {
    view.setUint32(i * 8, tables + (i > (hash & 255) ? 16 : 0), true);
    view.setUint32(i * 8 + 4, i === (hash & 255) ? 2 : 0, true);
  }
  view.setUint32(2048, 7, true);
  view.setUint32(2052, 2, true);
  expected.set(key, 2056);
  expected.set([0x44, 0], 2063);
  const slot = (hash >>> 8) % 2;
  view.setUint32(tables + slot * 8, hash, true);
  view.setUint32(tables + slot * 8 + 4, 2048, true);
  assertEquals(cdb, expected);
});

Deno.test("compileTcpRules: the fixture compiles to exactly the cdb ucspi-tcp's tcprules wrote", () => {
  const ours = compileTcpRules(parseTcpRules(FIXTURE_TEXT, "tcp.smtp"), { binary: true });
  assertEquals(ours, FIXTURE_CDB);
});

Deno.test("lookup: tcpserver's order, one case per kind of rule (§10.2)", () => {
  const table = tcpRulesFromCdb(FIXTURE_CDB);
  const key = (facts: TcpRuleFacts) => table.lookup(facts)?.key;
  // 1. info@ip beats everything, 2. info@=host next.
  assertEquals(key({ ip: "1.2.3.4", info: "joe", host: "mail.example.com" }), "joe@1.2.3.4");
  assertEquals(
    key({ ip: "1.2.3.5", info: "joe", host: "mail.example.com" }),
    "joe@=mail.example.com",
  );
  // info@=host needs the host; without it the ip rules apply.
  assertEquals(key({ ip: "1.2.3.40", info: "joe" }), "1.2.3.40");
  // 3. exact ip beats =host and prefixes.
  assertEquals(key({ ip: "127.0.0.1", host: "mail.example.com" }), "127.0.0.1");
  // 4. =host beats ip prefixes.
  assertEquals(key({ ip: "127.0.0.2", host: "mail.example.com" }), "=mail.example.com");
  // 5. prefixes ending in a dot, longest first.
  assertEquals(key({ ip: "127.0.0.2" }), "127.");
  assertEquals(key({ ip: "10.3.200.1" }), "10.3.");
  // 6. =.suffixes left to right, then "=".
  assertEquals(key({ ip: "11.0.0.1", host: "a.b.example.com" }), "=.example.com");
  assertEquals(key({ ip: "11.0.0.1", host: "example.org" }), "=");
  assertEquals(key({ ip: "11.0.0.1", host: "x.org.com" }), "=.com");
  // 7. the empty key.
  assertEquals(key({ ip: "11.0.0.1" }), "");
  // Host names are compared in lower case without a trailing dot, as tcpserver's DNS returns them.
  assertEquals(key({ ip: "11.0.0.1", host: "Mail.Example.COM." }), "=mail.example.com");
  // An IPv4-mapped IPv6 address is its IPv4 address; an empty host or info is unknown.
  assertEquals(key({ ip: "::ffff:127.0.0.1" }), "127.0.0.1");
  assertEquals(key({ ip: "::FFFF:10.2.0.1", host: "", info: "" }), "10.2.");
  // Other IPv6 addresses reach only the exact key, host rules and the default.
  assertEquals(key({ ip: "2001:db8::1" }), "");
  assertEquals(tcpRuleKeys({ ip: "1.2.3.4", host: "a.b", info: "i" }), [
    "i@1.2.3.4",
    "i@=a.b",
    "1.2.3.4",
    "=a.b",
    "1.2.3.",
    "1.2.",
    "1.",
    "=.b",
    "=",
    "",
  ]);
});

Deno.test("lookup: deny, variables in order (a later one wins), first duplicate key wins", () => {
  const table = tcpRulesFromCdb(FIXTURE_CDB);
  assertEquals(table.lookup({ ip: "9.9.9.9" }), {
    deny: true,
    env: { RBLSMTPD: "-go away" },
    key: "9.9.9.9",
  });
  assertEquals(table.lookup({ ip: "5.6.7.8" })?.env, { A: "first" });
  assertEquals(table.lookup({ ip: "6.6.6.6" })?.env, { X: "2", EMPTY: "" });
  assertEquals(table.lookup({ ip: "7.7.7.7" }), { deny: true, env: { Q: "" }, key: "7.7.7.7" });
  // The range on an earlier line wins over the later exact rule.
  assertEquals(table.lookup({ ip: "1.2.3.45" })?.deny, false);
  assertEquals(table.lookup({ ip: "1.2.3.45" })?.env, { DATABYTES: "1000000" });
  assertEquals(table.lookup({ ip: "11.0.0.1", host: "bad-host.example.net" })?.deny, true);
  assertEquals(table.lookup({ ip: "8.8.8.8" })?.env, { GREETING: "héllo wörld" });
  assertEquals(table.lookup({ ip: "127.0.0.1" })?.env, {
    RELAYCLIENT: "",
    SMTPGREETING: 'local, "quoted" greeting',
  });
  assertEquals(
    tcpRulesFromText(parseTcpRules("1.2.3.4:deny\n", "f")).lookup({ ip: "1.2.3.5" }),
    undefined,
  );
});

Deno.test("lookup: tcpserver skips unknown entries and an entry without its NUL", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const cdb = buildCdb([
    { key: encode("1.2.3.4"), data: encode("+A=1\0-B\0+NOEQUALS\0Dxyz\0+C=3") },
  ]);
  assertEquals(tcpRulesFromCdb(cdb).lookup({ ip: "1.2.3.4" }), {
    deny: true,
    env: { A: "1" },
    key: "1.2.3.4",
  });
});

const PROBES: TcpRuleFacts[] = [
  { ip: "127.0.0.1" },
  { ip: "127.9.9.9", host: "localhost" },
  { ip: "10.2.0.1" },
  { ip: "10.3.9.9" },
  { ip: "10.4.0.1" },
  { ip: "1.2.3.36" },
  { ip: "1.2.3.37" },
  { ip: "1.2.3.53" },
  { ip: "1.2.3.54" },
  { ip: "1.2.3.4", info: "joe" },
  { ip: "1.2.3.4", info: "ann" },
  { ip: "4.4.4.4", info: "joe", host: "mail.example.com" },
  { ip: "4.4.4.4", host: "mail.example.com" },
  { ip: "4.4.4.4", host: "smtp.example.com" },
  { ip: "4.4.4.4", host: "example.com" },
  { ip: "4.4.4.4", host: "example.org" },
  { ip: "4.4.4.4", host: "bad-host.example.net" },
  { ip: "192.168.0.249" },
  { ip: "192.168.0.250" },
  { ip: "192.168.0.255" },
  { ip: "192.168.1.5" },
  { ip: "192.168.2.7" },
  { ip: "192.168.2.10" },
  { ip: "9.9.9.9" },
  { ip: "5.6.7.8" },
  { ip: "6.6.6.6" },
  { ip: "7.7.7.7" },
  { ip: "8.8.8.8" },
];

Deno.test("lookup: the text table and the cdb table give the same answers", () => {
  const fromCdb = tcpRulesFromCdb(FIXTURE_CDB);
  const fromText = tcpRulesFromText(parseTcpRules(FIXTURE_TEXT, "tcp.smtp"), { binary: true });
  const fromReader = tcpRulesFromCdb(new CdbReader(FIXTURE_CDB));
  for (const facts of PROBES) {
    assertEquals(fromText.lookup(facts), fromCdb.lookup(facts), JSON.stringify(facts));
    assertEquals(fromReader.lookup(facts), fromCdb.lookup(facts), JSON.stringify(facts));
  }
});

Deno.test("needsHost: only when some key names a host", () => {
  assertEquals(tcpRulesFromCdb(FIXTURE_CDB).needsHost, true);
  const table = (text: string) => tcpRulesFromText(parseTcpRules(text, "f"));
  assertEquals(table("127.:allow\n1.2.3.4:deny\n:allow\njoe@1.2.3.4:allow\n").needsHost, false);
  assertEquals(table("=:deny\n").needsHost, true);
  assertEquals(table("=.example.com:deny\n").needsHost, true);
  assertEquals(table("joe@=host:deny\n").needsHost, true);
  // A bare CdbReader cannot list its keys, so it asks for the host to be safe.
  assertEquals(tcpRulesFromCdb(new CdbReader(compileText("127.:allow\n"))).needsHost, true);
});

Deno.test("formatTcpRules: text -> cdb -> text -> cdb gives the same bytes and answers", () => {
  const { text, unexpressible } = formatTcpRules(FIXTURE_CDB);
  assertEquals(unexpressible, 0);
  const rules = parseTcpRules(text, "printed");
  assertEquals(compileTcpRules(rules, { binary: true }), FIXTURE_CDB);
  const table = tcpRulesFromText(rules, { binary: true });
  const original = tcpRulesFromCdb(FIXTURE_CDB);
  for (const facts of PROBES) assertEquals(table.lookup(facts), original.lookup(facts));
  const lines = text.split("\n");
  assert(lines.includes(`127.0.0.1:allow,RELAYCLIENT="",SMTPGREETING='local, "quoted" greeting'`));
  assert(lines.includes('10.2.:allow,RELAYCLIENT=""'));
  assert(lines.includes('9.9.9.9:deny,RBLSMTPD="-go away"'));
  assert(lines.includes(':allow,QMAILQUEUE="/usr/bin/qmail-queue",DEFAULT="yes"'));
});

Deno.test("formatTcpRules: a quote is chosen that the value lacks; unwritable records become comments", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const cdb = buildCdb([
    { key: encode("1."), data: encode(`+A=say "hi" it's/ok\0`) },
    { key: encode("::1"), data: encode("") },
    { key: encode("1.2.3.4-5"), data: encode("D\0") },
    { key: encode("#x"), data: encode("") },
    { key: encode("2."), data: encode("+A=line\nbreak\0") },
    { key: encode("3."), data: encode("+A=no nul") },
    { key: encode("4."), data: encode("+A=1\0D\0") },
    { key: encode("5."), data: encode("-A\0") },
  ]);
  const { text, unexpressible } = formatTcpRules(cdb);
  assertEquals(unexpressible, 7);
  const lines = text.trimEnd().split("\n");
  assertEquals(lines[0], `1.:allow,A=|say "hi" it's/ok|`);
  assertEquals(lines[1], '# not expressible as a rule: key "::1" data ""');
  assertEquals(lines.length, 8);
  assertEquals(lines.slice(1).every((line) => line.startsWith("# not expressible")), true);
  assertEquals(parseTcpRules(text, "printed").length, 1);
});

Deno.test("loadTcpRules: the text file wins, else PATH.cdb, else undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tcp.smtp`;
    assertEquals(loadTcpRules(path), undefined);
    await Deno.writeFile(`${path}.cdb`, compileText('127.:allow,FROM="cdb"\n'));
    assertEquals(loadTcpRules(path)?.lookup({ ip: "127.0.0.1" })?.env, { FROM: "cdb" });
    assertEquals(loadTcpRules(`${path}.cdb`)?.lookup({ ip: "127.0.0.1" })?.env, { FROM: "cdb" });
    await Deno.writeTextFile(path, '127.:allow,FROM="text",U="ü"\n');
    assertEquals(loadTcpRules(path)?.lookup({ ip: "127.0.0.1" })?.env, { FROM: "text", U: "ü" });
    await Deno.writeTextFile(path, "# fine\n127.:allow\n10.:allow,RELAYCLIENT\n");
    const error = assertThrows(() => loadTcpRules(path), ControlError);
    assertEquals([error.file, error.line], [path, 3]);
    await Deno.remove(path);
    await Deno.writeFile(`${path}.cdb`, new Uint8Array(100));
    const broken = assertThrows(() => loadTcpRules(path), ControlError);
    assertEquals(broken.file, `${path}.cdb`);
    await Deno.mkdir(path);
    assertMatch(assertThrows(() => loadTcpRules(path), ControlError).message, /is a directory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- Against ucspi-tcp's own tcprules and tcprulescheck, when installed (apt-get install ucspi-tcp).

function findProgram(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const TCPRULES = findProgram("tcprules");
const TCPRULESCHECK = findProgram("tcprulescheck");
if (TCPRULES === undefined || TCPRULESCHECK === undefined) {
  console.log(
    "config/tcprules_test.ts: skipping the comparison with ucspi-tcp: tcprules/tcprulescheck " +
      "not installed (apt-get install ucspi-tcp)",
  );
}

async function realTcprules(
  dir: string,
  text: Uint8Array,
): Promise<{ code: number; cdb?: Uint8Array }> {
  const child = new Deno.Command(TCPRULES!, {
    args: [`${dir}/real.cdb`, `${dir}/real.tmp`],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(text);
  await writer.close();
  const { code } = await child.status;
  if (code !== 0) return { code };
  const cdb = await Deno.readFile(`${dir}/real.cdb`);
  await Deno.remove(`${dir}/real.cdb`);
  return { code, cdb };
}

const COMPARED_INPUTS = [
  FIXTURE_TEXT,
  '127.:allow,RELAYCLIENT=""\n:deny\n',
  "1.2.3.0-300:allow\n1.2.3.9-1:deny\n1.2.05-6.:deny\n-:allow\n7-:deny\n",
  'a b:allow , x\n  \t\n#\n:allow,=""\nx:deny,A=BcB,B=""\n',
  "1.2.3.4:deny,A=xx\nlast line without newline:allow",
  "127.:alow\n",
  "127.:allow\r\n",
  "1.2.3.a-3:allow\n",
  "::1:allow\n",
  '1.:allow,A="x\n',
  "1.:allow,\n",
];

Deno.test({
  name: "ucspi-tcp: tcprules writes the same bytes and fails on the same input",
  ignore: TCPRULES === undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      for (const input of COMPARED_INPUTS) {
        const bytes = Uint8Array.from(input, (c) => c.charCodeAt(0));
        const real = await realTcprules(dir, bytes);
        let ours: Uint8Array | undefined;
        try {
          ours = compileTcpRules(parseTcpRules(input, "stdin"), { binary: true });
        } catch (error) {
          if (!(error instanceof ControlError)) throw error;
        }
        assertEquals(ours === undefined ? 100 : 0, real.code, JSON.stringify(input));
        if (ours !== undefined) assertEquals(ours, real.cdb, JSON.stringify(input));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** tcprulescheck's report parsed into a TcpRuleMatch (undefined for "default:"). */
async function realLookup(cdbPath: string, facts: TcpRuleFacts): Promise<TcpRuleMatch | undefined> {
  const env: Record<string, string> = { TCPREMOTEIP: facts.ip };
  if (facts.host !== undefined) env.TCPREMOTEHOST = facts.host;
  if (facts.info !== undefined) env.TCPREMOTEINFO = facts.info;
  const output = await new Deno.Command(TCPRULESCHECK!, {
    args: [cdbPath],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(output.stdout).trimEnd().split("\n");
  if (lines[0] === "default:") return undefined;
  const match: TcpRuleMatch = { deny: false, env: {}, key: lines[0].replace(/^rule |:$/g, "") };
  for (const line of lines.slice(1)) {
    const set = /^set environment variable ([^=]*)=(.*)$/.exec(line);
    if (set) match.env[set[1]] = set[2];
    if (line === "deny connection") match.deny = true;
  }
  return match;
}

Deno.test({
  name: "ucspi-tcp: tcprulescheck finds the same rule as our lookup",
  ignore: TCPRULESCHECK === undefined,
  async fn() {
    const table = tcpRulesFromCdb(FIXTURE_CDB);
    for (const facts of PROBES) {
      const ours = table.lookup(facts);
      const real = await realLookup(`${FIXTURES}tcp.smtp.cdb`, facts);
      // tcprulescheck stops at "deny connection" (variables of a denied rule do not matter).
      if (ours?.deny) ours.env = {};
      assertEquals(ours, real, JSON.stringify(facts));
    }
  },
});

Deno.test("valuesOf: every value rules give a variable, from the text or the cdb alike", () => {
  const text = '127.:allow,QMAILQUEUE="/bin/a"\n10.:allow,QMAILQUEUE="/bin/b",X="1"\n' +
    '192.168.:deny\n1.2.3.4:allow,QMAILQUEUE="/bin/a"\n:allow\n';
  const rules = parseTcpRules(text, "tcp.smtp");
  const cdb = compileTcpRules(rules);
  for (
    const table of [
      tcpRulesFromText(rules),
      tcpRulesFromCdb(cdb),
      tcpRulesFromCdb(new CdbReader(cdb)),
    ]
  ) {
    assertEquals(table.valuesOf("QMAILQUEUE"), ["/bin/a", "/bin/b"]);
    assertEquals(table.valuesOf("X"), ["1"]);
    assertEquals(table.valuesOf("RELAYCLIENT"), []);
  }
});
