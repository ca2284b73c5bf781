import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { DeliveryError } from "./delivery_error.ts";
import {
  BLANK_FIRST_LINE,
  dotQmailCandidates,
  formatNewSender,
  ownerFileNames,
  parseDotQmail,
  safeExtension,
} from "./dot_qmail.ts";

Deno.test("parseDotQmail: every line kind (§6.4)", () => {
  const text = [
    "# a comment",
    "|/usr/bin/vacation joe  ",
    "./Maildir/",
    "/var/mail/joe\t",
    "./mbox",
    "&bob@example.org",
    "alice@example.net",
    "+list",
    "+other",
    "",
    "&",
    "./",
  ].join("\n") + "\n";
  assertEquals(parseDotQmail(text), [
    { kind: "program", command: "/usr/bin/vacation joe", line: 2 },
    { kind: "maildir", path: "./Maildir/", line: 3 },
    { kind: "mbox", path: "/var/mail/joe", line: 4 },
    { kind: "mbox", path: "./mbox", line: 5 },
    { kind: "forward", address: "bob@example.org", line: 6 },
    { kind: "forward", address: "alice@example.net", line: 7 },
    { kind: "forward-only", line: 8 },
    { kind: "forward", address: "", line: 11 },
    { kind: "maildir", path: "./", line: 12 },
  ]);
});

Deno.test("parseDotQmail: a missing final LF is added; trailing blanks go", () => {
  assertEquals(parseDotQmail("./Maildir/ \t"), [{ kind: "maildir", path: "./Maildir/", line: 1 }]);
  // Leading white space is not stripped: a forward to " x".
  assertEquals(parseDotQmail(" x\n"), [{ kind: "forward", address: " x", line: 1 }]);
});

Deno.test("parseDotQmail: a blank first line is a temporary error", () => {
  for (const text of ["\n./Maildir/\n", "  \n./Maildir/\n", "\t\n"]) {
    const error = assertThrows(() => parseDotQmail(text), DeliveryError);
    assertEquals(error.message, BLANK_FIRST_LINE);
    assertEquals(error.temporary, true);
  }
  // Blank lines later are fine.
  assertEquals(parseDotQmail("#\n\n\n").length, 0);
});

Deno.test("safeExtension: lower case, dots become colons", () => {
  assertEquals(safeExtension("Foo.Bar-Baz"), "foo:bar-baz");
  assertEquals(safeExtension("\xc9X"), "\xc9x");
});

Deno.test("dotQmailCandidates: search order with DEFAULT (§6.2)", () => {
  assertEquals(dotQmailCandidates("-", "foo-bar"), [
    { name: ".qmail-foo-bar" },
    { name: ".qmail-foo-default", defaultFrom: 4 },
    { name: ".qmail-default", defaultFrom: 0 },
  ]);
  // The user's own address: .qmail then .qmaildefault (qmail quirk).
  assertEquals(dotQmailCandidates("", ""), [
    { name: ".qmail" },
    { name: ".qmaildefault", defaultFrom: 0 },
  ]);
  assertEquals(dotQmailCandidates("-", "Post.Master"), [
    { name: ".qmail-post:master" },
    { name: ".qmail-default", defaultFrom: 0 },
  ]);
  // An ext ending in "default" sets DEFAULT to those 7 characters.
  assertEquals(dotQmailCandidates("-", "list-DEFAULT")[0], {
    name: ".qmail-list-default",
    defaultFrom: 5,
  });
  // An ext ending in "-" tries PREFIX-default first.
  assertEquals(dotQmailCandidates("-", "foo-").map((c) => c.name), [
    ".qmail-foo-",
    ".qmail-foo-default",
    ".qmail-default",
  ]);
  assertEquals(dotQmailCandidates("-", "a-b-c").map((c) => c.name), [
    ".qmail-a-b-c",
    ".qmail-a-b-default",
    ".qmail-a-default",
    ".qmail-default",
  ]);
});

Deno.test("NEWSENDER: owner files and VERP (§6.3)", () => {
  assertEquals(ownerFileNames("-", "List"), {
    owner: ".qmail-list-owner",
    ownerDefault: ".qmail-list-owner-default",
  });
  const none = { owner: false, ownerDefault: false };
  const owner = { owner: true, ownerDefault: false };
  const both = { owner: true, ownerDefault: true };
  assertEquals(formatNewSender("bob@x", "joe-list", "example.com", none), "bob@x");
  assertEquals(
    formatNewSender("bob@x", "joe-list", "example.com", owner),
    "joe-list-owner@example.com",
  );
  assertEquals(
    formatNewSender("bob@x", "joe-list", "example.com", both),
    "joe-list-owner-@example.com-@[]",
  );
  assertEquals(formatNewSender("", "joe-list", "example.com", both), "");
  assertEquals(formatNewSender("#@[]", "joe-list", "example.com", both), "#@[]");
});
