import { assert, assertEquals } from "../../tests/assert.ts";
import {
  asciiLowerCase,
  hasRoutingLocalPart,
  isRcptAllowed,
  MAX_ADDRESS_LENGTH,
  parseSmtpAddress,
} from "./mail_rcpt_address.ts";

Deno.test("parseSmtpAddress: angle brackets", () => {
  assertEquals(parseSmtpAddress("FROM:<a@example.org>"), "a@example.org");
  assertEquals(parseSmtpAddress("FROM: <a@example.org>"), "a@example.org");
  assertEquals(parseSmtpAddress("FROM:<a@example.org> SIZE=100 BODY=8BITMIME"), "a@example.org");
  assertEquals(parseSmtpAddress("TO:<>"), "");
  // The keyword is not checked; text before the first `<` is ignored.
  assertEquals(parseSmtpAddress("LALA:<a@b>"), "a@b");
  assertEquals(parseSmtpAddress("junk junk <a@b>"), "a@b");
  // A missing `>` is not an error.
  assertEquals(parseSmtpAddress("TO:<a@b"), "a@b");
  // Spaces inside the brackets are kept.
  assertEquals(parseSmtpAddress("TO:<a b@c>"), "a b@c");
});

Deno.test("parseSmtpAddress: the RFC 821-less form ends at a space", () => {
  assertEquals(parseSmtpAddress("FROM:a@example.org"), "a@example.org");
  assertEquals(parseSmtpAddress("FROM:   a@example.org SIZE=1"), "a@example.org");
  assertEquals(parseSmtpAddress("TO:"), "");
  assertEquals(parseSmtpAddress("no colon at all"), "");
  assertEquals(parseSmtpAddress(""), "");
  assertEquals(parseSmtpAddress('TO:"a b"@c d'), "a b@c");
});

Deno.test("parseSmtpAddress: source routes are dropped", () => {
  assertEquals(parseSmtpAddress("TO:<@a.example,@b.example:u@c.example>"), "u@c.example");
  assertEquals(parseSmtpAddress("TO:<@[192.0.2.25]:relaytest@victim.org>"), "relaytest@victim.org");
  assertEquals(parseSmtpAddress("TO:@a.example:u@c.example"), "u@c.example");
  // Only a route that starts right after `<` counts; with no `:` nothing is left.
  assertEquals(parseSmtpAddress("TO:<@nowhere>"), "");
  assertEquals(parseSmtpAddress('TO:<"@a:"b@c>'), "@a:b@c");
  // The route is cut before quotes are read.
  assertEquals(parseSmtpAddress('TO:<@a:"x y"@c>'), "x y@c");
});

Deno.test("parseSmtpAddress: quotes and backslashes", () => {
  assertEquals(parseSmtpAddress('TO:<"relaytest@victim.org">'), "relaytest@victim.org");
  assertEquals(parseSmtpAddress('TO:<""@victim.org>'), "@victim.org");
  assertEquals(parseSmtpAddress('TO:<"a>b"@c>'), "a>b@c");
  assertEquals(parseSmtpAddress("TO:<a\\>b@c>"), "a>b@c");
  assertEquals(parseSmtpAddress("TO:<a\\\\b@c>"), "a\\b@c");
  assertEquals(parseSmtpAddress('TO:<a\\"b@c>'), 'a"b@c');
  assertEquals(parseSmtpAddress('TO:<"unterminated@c>'), "unterminated@c>");
});

Deno.test("parseSmtpAddress: 899 bytes is the longest address", () => {
  assertEquals(MAX_ADDRESS_LENGTH, 899);
  const longest = "a".repeat(887) + "@example.org";
  assertEquals(longest.length, 899);
  assertEquals(parseSmtpAddress(`FROM:<${longest}>`), longest);
  assertEquals(parseSmtpAddress(`FROM:<a${longest}>`), null);
  // Counted after quotes are removed.
  assertEquals(parseSmtpAddress(`FROM:<"a"${longest.slice(1)}>`), longest);
});

Deno.test("parseSmtpAddress: [d.d.d.d] of this host becomes localiphost", () => {
  const options = { localIpHost: "example.net", localIps: ["192.0.2.25", "127.0.0.1", "::1"] };
  assertEquals(parseSmtpAddress("TO:<u@[192.0.2.25]>", options), "u@example.net");
  assertEquals(parseSmtpAddress("TO:<u@[127.0.0.1]>", options), "u@example.net");
  assertEquals(parseSmtpAddress("TO:<u@[192.000.002.025]>", options), "u@example.net");
  assertEquals(parseSmtpAddress("TO:<a@b@[192.0.2.25]>", options), "a@b@example.net");
  assertEquals(parseSmtpAddress("TO:<u@[192.0.2.26]>", options), "u@[192.0.2.26]");
  assertEquals(parseSmtpAddress("TO:<u@[192.0.2.25]x>", options), "u@[192.0.2.25]x");
  assertEquals(parseSmtpAddress("TO:<u@x[192.0.2.25]>", options), "u@x[192.0.2.25]");
  assertEquals(parseSmtpAddress("TO:<u@[192.0.2.281]>", options), "u@[192.0.2.281]");
  assertEquals(parseSmtpAddress("TO:<u@[192.0.2]>", options), "u@[192.0.2]");
  assertEquals(parseSmtpAddress("TO:<[192.0.2.25]>", options), "[192.0.2.25]");
  // Off without a localiphost name or without addresses.
  assertEquals(
    parseSmtpAddress("TO:<u@[192.0.2.25]>", { localIps: ["192.0.2.25"] }),
    "u@[192.0.2.25]",
  );
  assertEquals(
    parseSmtpAddress("TO:<u@[192.0.2.25]>", { localIpHost: "", localIps: ["192.0.2.25"] }),
    "u@[192.0.2.25]",
  );
  assertEquals(parseSmtpAddress("TO:<u@[192.0.2.25]>", { localIpHost: "x" }), "u@[192.0.2.25]");
});

Deno.test("parseSmtpAddress: the length limit applies after the localiphost rewrite", () => {
  const options = { localIpHost: "h".repeat(100), localIps: ["192.0.2.25"] };
  const local = "a".repeat(800);
  assertEquals(parseSmtpAddress(`TO:<${local}@[192.0.2.25]>`), `${local}@[192.0.2.25]`);
  assertEquals(parseSmtpAddress(`TO:<${local}@[192.0.2.25]>`, options), null);
});

Deno.test("parseSmtpAddress keeps every byte", () => {
  const eight = "j\xc3\xb6rg\xff@example.net";
  assertEquals(parseSmtpAddress(`TO:<${eight}>`), eight);
});

Deno.test("asciiLowerCase leaves 8-bit bytes alone", () => {
  assertEquals(asciiLowerCase("AbC\xc0\xde"), "abc\xc0\xde");
});

Deno.test("isRcptAllowed: the domain or a .suffix must be listed", () => {
  const listed = new Set(["example.net", ".example.org"]);
  const lookup = (domain: string) => listed.has(domain);
  assert(isRcptAllowed("u@example.net", lookup));
  assert(isRcptAllowed("u@EXAMPLE.Net", lookup));
  assert(isRcptAllowed("u@sub.example.org", lookup));
  assert(isRcptAllowed("u@a.b.example.org", lookup));
  assert(isRcptAllowed("a@b@example.net", lookup));
  assert(!isRcptAllowed("u@example.org", lookup));
  assert(!isRcptAllowed("u@sub.example.net", lookup));
  assert(!isRcptAllowed("u@evil-example.net", lookup));
  assert(!isRcptAllowed("u@example.net.", lookup));
  assert(!isRcptAllowed("u@", lookup));
  assert(!isRcptAllowed("u@example.net@victim.org", lookup));
  // No `@`: accepted, qmail-send appends envnoathost.
  assert(isRcptAllowed("postmaster", lookup));
});

Deno.test("isRcptAllowed asks for the domain, then each suffix at a dot", () => {
  const asked: string[] = [];
  isRcptAllowed("u@A.b.C", (domain) => {
    asked.push(domain);
    return false;
  });
  assertEquals(asked, ["a.b.c", ".b.c", ".c"]);
});

Deno.test("isRcptAllowed: without rcpthosts every domain is refused (R20)", () => {
  assert(!isRcptAllowed("u@example.net", null));
  assert(!isRcptAllowed("u@localhost", null));
  assert(isRcptAllowed("postmaster", null));
});

Deno.test("hasRoutingLocalPart: % ! and @ in the local part", () => {
  assert(hasRoutingLocalPart("relaytest%victim.org@example.net"));
  assert(hasRoutingLocalPart("relaytest%victim.org"));
  assert(hasRoutingLocalPart("victim.org!relaytest"));
  assert(hasRoutingLocalPart("victim.org!relaytest@example.net"));
  assert(hasRoutingLocalPart("relaytest@victim.org@example.net"));
  assert(!hasRoutingLocalPart("user+tag@example.net"));
  assert(!hasRoutingLocalPart("list-return-1-u=h@example.net"));
  assert(!hasRoutingLocalPart("postmaster"));
  assert(!hasRoutingLocalPart("@victim.org"));
  // Only the local part matters.
  assert(!hasRoutingLocalPart("u@weird%domain!"));
});
