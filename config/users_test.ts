import { assertEquals, assertStringIncludes, assertThrows } from "../tests/assert.ts";
import { buildCdb, CdbReader } from "./cdb.ts";
import { ControlError } from "./control.ts";
import {
  type AssignEntry,
  compileAssign,
  lookupAssign,
  parseAssign,
  readAssignedHomes,
  readAssignSource,
} from "./users.ts";

const latin1 = (data: Uint8Array | undefined) =>
  data === undefined ? undefined : String.fromCharCode(...data);

const ASSIGN = [
  "=joe:joe:1001:100:/home/joe:::",
  "=Joe-Smith:jsmith:1002:100:/home/js:-:smith:",
  "+list-:lists:1003:100:/home/lists:-::",
  "+list-big-:biglists:1004:100:/home/big:-:big-:",
  "+:alias:7790:2108:/var/qmail/alias:-::",
  "=joe:second:1:1:/nowhere:::",
  ".",
  "ignored after the dot",
  "",
].join("\n");

function both(entries: AssignEntry[]) {
  return [
    ["text", entries] as const,
    ["cdb", new CdbReader(buildCdb(compileAssign(entries)))] as const,
  ];
}

Deno.test("parseAssign: fields, kinds, line numbers, end at the dot", () => {
  const entries = parseAssign(ASSIGN);
  assertEquals(entries.length, 6);
  assertEquals(entries[0], {
    kind: "simple",
    local: "joe",
    user: "joe",
    uid: "1001",
    gid: "100",
    home: "/home/joe",
    dash: "",
    ext: "",
    line: 1,
  });
  assertEquals(entries[2].kind, "wildcard");
  assertEquals(entries[2].local, "list-");
  assertEquals(entries[4].local, "");
  assertEquals(entries[5].line, 6);
});

Deno.test("parseAssign: text after the seventh colon is dropped", () => {
  const [entry] = parseAssign("=a:u:1:2:/h:-:e:trailing:stuff\n.\n");
  assertEquals(entry.ext, "e");
});

Deno.test("parseAssign: errors name the file and the line", () => {
  const missingDot = assertThrows(
    () => parseAssign("=a:u:1:2:/h:::\n", "/q/users/assign"),
    ControlError,
  );
  assertStringIncludes(missingDot.message, "/q/users/assign line 2");
  assertStringIncludes(missingDot.message, "final line");
  const unterminated = assertThrows(() => parseAssign("=a:u:1:2:/h:::"), ControlError);
  assertStringIncludes(unterminated.message, "line 1");
  const fewColons = assertThrows(() => parseAssign("=a:u:1:2:/h\n.\n"), ControlError);
  assertStringIncludes(fewColons.message, "users/assign line 1: expected local:user");
  const badKind = assertThrows(
    () => parseAssign("=a:u:1:2:/h:::\nxyz:u:1:2:/h:::\n.\n"),
    ControlError,
  );
  assertEquals(badKind.line, 2);
  const blank = assertThrows(() => parseAssign("\n.\n"), ControlError);
  assertEquals(blank.line, 1);
  assertEquals(parseAssign(".\n"), []);
});

Deno.test("compileAssign: keys, data and the wildchars record exactly as qmail-newu", () => {
  const records = compileAssign(parseAssign(ASSIGN));
  assertEquals(records.map((r) => latin1(r.key)), [
    "!joe\0",
    "!joe-smith\0",
    "!list-",
    "!list-big-",
    "!",
    "!joe\0",
    "",
  ]);
  assertEquals(latin1(records[1].data), "jsmith\x001002\x00100\x00/home/js\x00-\x00smith");
  // Last char of each non-empty prefix, once: "-" (from list- and list-big-).
  assertEquals(latin1(records[6].data), "-");
  const mixed = compileAssign(
    parseAssign("+ab:u:1:1:/h:::\n+cD:u:1:1:/h:::\n+xb:u:1:1:/h:::\n.\n"),
  );
  assertEquals(latin1(mixed[mixed.length - 1].data), "bD");
});

Deno.test("lookupAssign: simple, case-insensitive, first line wins (text and cdb)", () => {
  for (const [name, source] of both(parseAssign(ASSIGN))) {
    assertEquals(lookupAssign(source, "JOE"), {
      user: "joe",
      uid: 1001,
      gid: 100,
      home: "/home/joe",
      dash: "",
      ext: "",
    }, name);
    assertEquals(lookupAssign(source, "joe-smith")?.ext, "smith", name);
  }
});

Deno.test("lookupAssign: wildcard appends the rest in original case; longer prefix wins", () => {
  for (const [name, source] of both(parseAssign(ASSIGN))) {
    const list = lookupAssign(source, "List-Announce");
    assertEquals(list?.user, "lists", name);
    assertEquals(list?.ext, "Announce", name);
    const big = lookupAssign(source, "list-big-Foo");
    assertEquals(big?.user, "biglists", name);
    assertEquals(big?.ext, "big-Foo", name);
    // The prefix itself matches, with an empty rest.
    assertEquals(lookupAssign(source, "list-")?.ext, "", name);
  }
});

Deno.test("lookupAssign: simple beats wildcard; the empty prefix catches everything else", () => {
  const entries = parseAssign("+jo:wild:1:1:/w:-::\n=joe:simple:2:2:/s:::\n+:all:3:3:/a:-::\n.\n");
  for (const [name, source] of both(entries)) {
    assertEquals(lookupAssign(source, "joe")?.user, "simple", name);
    assertEquals(lookupAssign(source, "Mary")?.user, "all", name);
    assertEquals(lookupAssign(source, "Mary")?.ext, "Mary", name);
    // "jo" ends in "o", which is a wildchar: the +jo line applies.
    const wild = lookupAssign(source, "joey");
    assertEquals(wild?.user, "wild", name);
    assertEquals(wild?.ext, "ey", name);
  }
});

Deno.test("lookupAssign: nothing assigned gives undefined", () => {
  const entries = parseAssign("=joe:joe:1:1:/h:::\n.\n");
  for (const [name, source] of both(entries)) {
    assertEquals(lookupAssign(source, "jane"), undefined, name);
    assertEquals(lookupAssign(source, "joe-x"), undefined, name);
  }
});

Deno.test("lookupAssign: a prefix ending in an upper-case letter never matches (qmail quirk)", () => {
  const entries = parseAssign("+aB:u:1:1:/h:-::\n.\n");
  for (const [name, source] of both(entries)) {
    assertEquals(lookupAssign(source, "abc"), undefined, name);
  }
});

Deno.test("readAssignSource: prefers users/cdb, falls back to users/assign", async () => {
  const home = await Deno.makeTempDir();
  try {
    assertEquals(await readAssignSource(home), undefined);
    await Deno.mkdir(`${home}/users`);
    await Deno.writeTextFile(`${home}/users/assign`, "=text:t:1:1:/t:::\n.\n");
    const fromText = await readAssignSource(home);
    assertEquals(fromText?.file, `${home}/users/assign`);
    assertEquals(lookupAssign(fromText!.source, "text")?.user, "t");
    await Deno.writeFile(
      `${home}/users/cdb`,
      buildCdb(compileAssign(parseAssign("=cdb:c:1:1:/c:::\n.\n"))),
    );
    const fromCdb = await readAssignSource(home);
    assertEquals(fromCdb?.file, `${home}/users/cdb`);
    assertEquals(lookupAssign(fromCdb!.source, "cdb")?.user, "c");
    assertEquals(lookupAssign(fromCdb!.source, "text"), undefined);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("readAssignedHomes: the homes of the file lookups use, users/cdb before users/assign", async () => {
  const home = await Deno.makeTempDir();
  try {
    assertEquals(readAssignedHomes(home), []);
    Deno.mkdirSync(`${home}/users`);
    Deno.writeTextFileSync(`${home}/users/assign`, ASSIGN);
    assertEquals(readAssignedHomes(home), [
      "/home/joe",
      "/home/js",
      "/home/lists",
      "/home/big",
      "/var/qmail/alias",
      "/nowhere",
    ]);
    const cdb = compileAssign(
      parseAssign("=ann:ann:1:1:/home/ann:::\n+x-:x:1:1:relative:-::\n.\n"),
    );
    Deno.writeFileSync(`${home}/users/cdb`, buildCdb(cdb));
    assertEquals(readAssignedHomes(home), ["/home/ann"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
