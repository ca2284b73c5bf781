import { assert, assertEquals } from "../../tests/assert.ts";
import {
  findMatch,
  patternError,
  patternKind,
  type PatternList,
  regexSource,
} from "./bm_patterns.ts";

function list(...values: string[]): PatternList {
  return { source: "control/test", lines: values.map((value, i) => ({ value, line: i + 1 })) };
}

function matches(values: string[], subject: string, address = true): number | undefined {
  return findMatch(list(...values), subject, { address })?.line;
}

Deno.test("patternKind: qmail lines, Tom Clegg's wildcards and regular expressions", () => {
  assertEquals(patternKind("spammer@example.com"), "address");
  assertEquals(patternKind("@spam.example"), "address");
  assertEquals(patternKind("user+tag@example.com"), "address");
  assertEquals(patternKind("*@example.com"), "wildcard");
  assertEquals(patternKind("@*.example.com"), "wildcard");
  assertEquals(patternKind("spam*@example.com"), "wildcard");
  assertEquals(patternKind(".*spam.*"), "regex");
  assertEquals(patternKind("foo.*@example.com"), "regex");
  assertEquals(patternKind("a**b"), "regex");
  assertEquals(patternKind("!@"), "regex");
  assertEquals(patternKind("!\\."), "regex");
  assertEquals(patternKind("[!%#:*^(){}]"), "regex");
  assertEquals(patternKind("^root@"), "regex");
  assertEquals(patternKind("user@host$"), "regex");
});

Deno.test("address lines: the whole address or @domain, ASCII case-insensitively (qmail)", () => {
  const lines = ["spammer@example.com", "@spam.example"];
  assertEquals(matches(lines, "Spammer@Example.COM"), 1);
  assertEquals(matches(lines, "anyone@SPAM.example"), 2);
  assertEquals(matches(lines, "a@b@spam.example"), 2);
  assertEquals(matches(lines, "anyone@sub.spam.example"), undefined);
  assertEquals(matches(lines, "other@example.com"), undefined);
  assertEquals(matches(lines, "spammer@example.com."), undefined);
  assertEquals(matches(lines, "xspammer@example.com"), undefined);
  assertEquals(matches(lines, "spam.example"), undefined);
  // `.` is literal in an address line.
  assertEquals(matches(["a.b@example.com"], "axb@example.com"), undefined);
});

Deno.test("address lines for HELO and host names compare the whole string only", () => {
  assertEquals(matches(["friend"], "FRIEND", false), 1);
  assertEquals(matches(["@friend"], "x@friend", false), undefined);
  assertEquals(matches(["friend"], "friend.example", false), undefined);
});

Deno.test("wildcards: * is any run of characters, over the whole address or @domain", () => {
  assertEquals(matches(["*@example.com"], "anyone@Example.com"), 1);
  assertEquals(matches(["*@example.com"], "anyone@sub.example.com"), undefined);
  assertEquals(matches(["@*.example.com"], "a@sub.example.com"), 1);
  assertEquals(matches(["@*.example.com"], "a@deep.sub.example.com"), 1);
  assertEquals(matches(["@*.example.com"], "a@example.com"), undefined);
  assertEquals(matches(["spam*@example.com"], "spammer@example.com"), 1);
  assertEquals(matches(["spam*@example.com"], "ham@example.com"), undefined);
  // The dot stays literal in a wildcard line.
  assertEquals(matches(["*@a.b"], "x@axb"), undefined);
});

Deno.test("regex lines: found anywhere, case-insensitively, as regexec finds them", () => {
  assertEquals(matches([".*spam.*"], "bigSPAMmer@example.com"), 1);
  assertEquals(matches(["@.*@"], "a@b@c"), 1);
  assertEquals(matches(["@.*@"], "a@b"), undefined);
  assertEquals(matches(["[!%#:*^(){}]"], "a%b@example.com"), 1);
  assertEquals(matches(["[!%#:*^(){}]"], "ab@example.com"), undefined);
  assertEquals(matches(["^[0-9]+@"], "123456@aol.com"), 1);
  assertEquals(matches(["^[[:digit:]]+@"], "123456@aol.com"), 1);
  assertEquals(matches(["^[[:digit:]]+@"], "a123456@aol.com"), undefined);
});

Deno.test("! negates a regex line: seed 002's !\\. and !@", () => {
  assertEquals(matches(["!\\."], "localhost", false), 1);
  assertEquals(matches(["!\\."], "mx.example.net", false), undefined);
  assertEquals(matches(["!@"], "root"), 1);
  assertEquals(matches(["!@"], "root@example.net"), undefined);
});

Deno.test("findMatch: the first matching line in file order names the rule", () => {
  const lines = list("# never a line", "@example.com", ".*", "*@example.com");
  assertEquals(findMatch(lines, "a@example.com", { address: true }), {
    value: "@example.com",
    line: 2,
  });
  assertEquals(findMatch(list(), "a@example.com", { address: true }), undefined);
});

Deno.test("findMatch: lookups and literal checks name the same first line as a scan in order", () => {
  const values = [
    "^spam[0-9]+@",
    "@junk.example",
    "*@wild.example",
    "joe@junk.example",
    "^([a-z])\\1@",
    "!@",
    "^bench@",
    "bench@ok.example",
    "@ok.example",
  ];
  const subjects = [
    "spam42@x.example",
    "joe@junk.example",
    "JOE@Junk.Example",
    "a@wild.example",
    "aa@elsewhere.example",
    "no-at-sign",
    "bench@ok.example",
    "zed@ok.example",
    "zed@other.example",
  ];
  // One line at a time, in file order: the meaning the shortcuts must keep.
  const oneByOne = (subject: string) =>
    values.findIndex((value) => findMatch(list(value), subject, { address: true }) !== undefined);
  for (const tail of [values.length, 5, 3]) {
    const shortened = values.slice(0, tail);
    for (const subject of subjects) {
      const expected = shortened.findIndex((value) =>
        findMatch(list(value), subject, { address: true }) !== undefined
      );
      assertEquals(
        matches(shortened, subject),
        expected < 0 ? undefined : expected + 1,
        `${subject} against the first ${tail} lines`,
      );
    }
  }
  assertEquals(oneByOne("no-at-sign"), 5, "only the negated line matches");
  assertEquals(matches(values.slice(0, 5), "aa@elsewhere.example"), 5, "a back reference");
  assertEquals(matches(["@ok.example", "^zed@"], "zed@ok.example"), 1, "the address line first");
  assertEquals(matches(["^zed@", "@ok.example"], "zed@ok.example"), 1, "the regex line first");
});

Deno.test("findMatch: anchors, a line's own | and literals keep each line's meaning", () => {
  const values = ["^spam@", "^[a-z]+[0-9]@mailer\\.example$", "^x|@alt\\.example$", "b[u]lk"];
  assertEquals(matches(values, "spam@anything.example"), 1);
  assertEquals(matches(values, "joe7@mailer.example"), 2);
  assertEquals(matches(values, "joe@alt.example"), 3, "not anchored: the | is the line's");
  assertEquals(matches(values, "nobody@mailer.example.org"), undefined, "$ still anchors the end");
  assertEquals(matches(values, "a@bulkmail.example"), 4, "found anywhere");
  assertEquals(matches(values, "my-spam@example.org"), undefined, "^ anchors only the start");
  // A ! line whose literal is missing from the subject matches without running the expression.
  assertEquals(matches(["!@example\\.org$"], "a@b.example"), 1);
  assertEquals(matches(["!@example\\.org$"], "a@example.org"), undefined);
  assertEquals(matches(["spam*@*.example"], "spammer@x.example"), 1, "a wildcard's fixed part");
  assertEquals(matches(["spam*@*.example"], "ham@x.example"), undefined);
});

Deno.test("patternError: bad expressions and unknown classes are named; others pass", () => {
  assertEquals(patternError("spammer@example.com"), undefined);
  assertEquals(patternError("*@example.com"), undefined);
  assertEquals(patternError(".*spam.*"), undefined);
  assert(patternError("(unclosed")?.startsWith("bad regular expression"));
  assert(patternError("[z-a]")?.startsWith("bad regular expression"));
  assertEquals(patternError("!"), "an empty expression after !");
  assertEquals(patternError("[[:nothing:]]"), "unknown character class [:nothing:]");
  assertEquals(regexSource("[[:alpha:][:digit:]_]"), "[A-Za-z0-9_]");
});
