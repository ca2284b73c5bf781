import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { completeHeader, InjectError, type InjectOptions, quoteAddress } from "./headers.ts";
import { findHeaderEnd } from "./header_fields.ts";
import type { InjectControls } from "./inject_controls.ts";
import { formatTokens, parseTokens, rewriteAddressList } from "./token822.ts";
import { exitCodeFor } from "../mail_error.ts";

const CONTROLS: InjectControls = {
  defaultdomain: "example.com",
  defaulthost: "mail.example.com",
  plusdomain: "example.org",
  idhost: "id.example.com",
};
const NOW = new Date(Date.UTC(2024, 2, 5, 7, 8, 9));

function inject(message: string, options: Partial<InjectOptions> = {}) {
  const bytes = stringToBytes(message);
  const end = findHeaderEnd(bytes, true)!;
  const result = completeHeader(bytes, end, {
    env: { USER: "joe" },
    controls: CONTROLS,
    now: NOW,
    pid: 1234,
    strategy: "header",
    ...options,
  });
  return {
    head: bytesToString(result.head),
    rest: message.slice(end),
    sender: bytesToString(result.sender),
    recipients: result.recipients.map(bytesToString),
  };
}

Deno.test("inject: Date, Message-ID and From are added before the existing fields", () => {
  const out = inject("Subject: hi\nTo: ann\n\nbody\n");
  assertEquals(
    out.head,
    "Date: 5 Mar 2024 07:08:09 -0000\n" +
      "Message-ID: <20240305070809.1234.qmail@id.example.com>\n" +
      "From: joe@mail.example.com\n" +
      "Subject: hi\n" +
      "To: ann@mail.example.com\n",
  );
  assertEquals(out.rest, "\nbody\n");
  assertEquals(out.sender, "joe@mail.example.com");
  assertEquals(out.recipients, ["ann@mail.example.com"]);
});

Deno.test("inject: existing Date, Message-ID and From are kept; Cc placeholder without To/Cc", () => {
  const out = inject(
    "Date: Tue, 5 Mar 2024 08:00:00 +0100\nMessage-ID: <x@y>\nFrom: Ann <ann@example.net>\n\nb\n",
    { strategy: "args", recipients: ["bob"] },
  );
  assertEquals(
    out.head,
    "Cc: recipient list not shown: ;\n" +
      "Date: Tue, 5 Mar 2024 08:00:00 +0100\nMessage-ID: <x@y>\nFrom: Ann <ann@example.net>\n",
  );
  assertEquals(out.recipients, ["bob@mail.example.com"]);
});

Deno.test("inject: From from QMAILUSER, QMAILHOST and QMAILNAME; return path from QMAILS*", () => {
  const out = inject("To: ann@example.net\n\n", {
    env: {
      QMAILUSER: "joe",
      QMAILHOST: "example.com",
      QMAILNAME: "Joe Q. Public",
      QMAILSUSER: "bounces",
      QMAILSHOST: "lists.example.com",
      USER: "ignored",
    },
  });
  assertEquals(out.head.split("\n")[2], 'From: "Joe Q. Public" <joe@example.com>');
  assertEquals(out.sender, "bounces@lists.example.com");
  const comment = inject("To: a@example.net\n\n", {
    env: { USER: "joe", NAME: "Joe", QMAILINJECT: "c" },
  });
  assertEquals(comment.head.split("\n")[2], "From: joe@mail.example.com (Joe)");
});

Deno.test("inject: host rewriting: bare user, dotless host, trailing plus, source route", () => {
  const out = inject("To: ann, bob@host, carl@x+, <@r1,@r2:dan@d.example.net>, <>, e@[]\n\n");
  assertEquals(
    out.head.split("\n").slice(3).join("\n"),
    "To: ann@mail.example.com, bob@host.example.com, carl@x.example.org,\n" +
      "  <dan@d.example.net>, <>, e@[]\n",
  );
  assertEquals(out.recipients, [
    "e@[]",
    "",
    "dan@d.example.net",
    "carl@x.example.org",
    "bob@host.example.com",
    "ann@mail.example.com",
  ]);
});

Deno.test("inject: Bcc is removed but still a recipient; -t takes To, Cc and Bcc", () => {
  const out = inject(
    "From: me@example.com\nTo: a@example.net\nCc: B <b@example.net>\nBcc: c@example.net\n" +
      "Subject: s\n\nbody\n",
    { strategy: "both", recipients: ["d@example.net"] },
  );
  assert(!out.head.includes("Bcc"), out.head);
  assertEquals(out.recipients, [
    "d@example.net",
    "a@example.net",
    "b@example.net",
    "c@example.net",
  ]);
  assertEquals(out.sender, "joe@mail.example.com");
  const argsOnly = inject("To: a@example.net\n\n", {
    strategy: "args",
    recipients: ["x@example.net"],
  });
  assertEquals(argsOnly.recipients, ["x@example.net"]);
});

Deno.test("inject: -f wins over Return-Path; Return-Path and Content-Length are removed", () => {
  const out = inject("Return-Path: <rp@example.net>\nContent-Length: 5\nTo: a@b.example\n\n");
  assertEquals(out.sender, "rp@example.net");
  assert(!out.head.includes("Return-Path") && !out.head.includes("Content-Length"));
  assertEquals(
    inject("Return-Path: <rp@example.net>\n\n", { sender: "f@host" }).sender,
    "f@host.example.com",
  );
  assertEquals(inject("To: a@b.example\n\n", { sender: "" }).sender, "");
  const printed = inject("To: a@b.example\n\n", { sender: "x y@example.com", printing: true });
  assertEquals(printed.head.split("\n")[0], 'Return-Path: <"x y"@example.com>');
  assertEquals(printed.sender, "x y@example.com");
});

Deno.test("inject: Resent- fields switch to Resent- completion and recipients", () => {
  const out = inject(
    "From: a@example.com\nTo: b@example.com\nResent-From: c@example.com\nResent-To: d@example.com\n\n",
  );
  assertEquals(out.head.split("\n").slice(0, 2), [
    "Resent-Date: 5 Mar 2024 07:08:09 -0000",
    "Resent-Message-ID: <20240305070809.1234.qmail@id.example.com>",
  ]);
  assertEquals(out.recipients, ["d@example.com"]);
});

Deno.test("inject: header end: blank line, a non-field line, mbox From, EOF", () => {
  const body = inject("Subject: x\nnot a field\nmore\n");
  assertEquals(body.rest, "not a field\nmore\n");
  assert(body.head.endsWith("Subject: x\n\n"), "an empty line is inserted");
  const mbox = inject("From joe Tue Mar  5 07:08:09 2024\nSubject: x\n\n");
  assert(mbox.head.includes("MBOX-Line: From joe Tue Mar  5 07:08:09 2024\n"));
  const eof = inject("Subject: no newline");
  assert(eof.head.endsWith("Subject: no newline\n"));
  assertEquals(eof.rest, "");
  const folded = inject("Subject: a\n\tb\nTo: x@example.net,\n  y@example.net\n\nz");
  assert(folded.head.includes("Subject: a\n\tb\n"));
  assertEquals(folded.recipients, ["y@example.net", "x@example.net"]);

  const enc = (s: string) => stringToBytes(s);
  assertEquals(findHeaderEnd(enc("Subject: x\n"), false), undefined);
  assertEquals(findHeaderEnd(enc("Subject: x\nSub"), false), undefined);
  assertEquals(findHeaderEnd(enc("Subject: x\n\n"), false), 11);
  assertEquals(findHeaderEnd(enc("Subject: x\nhello world"), false), 11);
  assertEquals(findHeaderEnd(enc("\nbody"), false), 0);
  assertEquals(findHeaderEnd(enc("Subject: x\n more"), false), undefined);
});

Deno.test("inject: unparsable sender fields are fatal, unparsable To is kept", () => {
  const kept = inject("To: a@b.example (unclosed\n\n");
  assert(kept.head.includes("To: a@b.example (unclosed\n"));
  assertEquals(kept.recipients, []);
  const error = assertThrows(() => inject("From: (unclosed\n\n"), InjectError);
  assertEquals(exitCodeFor(error), 100);
  assertEquals(error.message, "unable to parse this line:\nFrom: (unclosed\n");
});

Deno.test("inject: dotless defaultdomain (me = localhost) is not appended", () => {
  const out = inject("To: root, root@localhost\n\n", {
    controls: {
      defaultdomain: "localhost",
      defaulthost: "localhost",
      plusdomain: "localhost",
      idhost: "localhost",
    },
  });
  assertEquals(out.recipients, ["root@localhost", "root@localhost"]);
});

Deno.test("token822: quoting, folding at 80 columns and re-parsing", () => {
  assertEquals(quoteAddress("a b@example.com"), '"a b"@example.com');
  assertEquals(quoteAddress("a.b@example.com"), "a.b@example.com");
  assertEquals(quoteAddress('a"b'), '"a\\"b"');
  const many = Array.from({ length: 8 }, (_, i) => `user${i}@host${i}.example.com`).join(", ");
  const field = formatTokens(rewriteAddressList(parseTokens(`To: ${many}\n`)!, () => {})!);
  const lines = field.split("\n");
  assert(lines.length > 2, field);
  for (const line of lines) assert(line.length <= 82, line);
  assertEquals(
    field,
    "To: user0@host0.example.com, user1@host1.example.com, user2@host2.example.com,\n" +
      "  user3@host3.example.com, user4@host4.example.com, user5@host5.example.com,\n" +
      "  user6@host6.example.com, user7@host7.example.com\n",
  );
  assertEquals(
    formatTokens(parseTokens('To: "J\\"Q" (c(d)) <a@[1.2.3.4]>, \u00e9t\u00e9@x.example\n')!),
    'To: "J\\"Q" (cd) <a@[1.2.3.4]>, "\u00e9t\u00e9"@x.example\n',
  );
  assertEquals(parseTokens("a)b"), [{ type: 2, text: "a)b" }]);
  assertEquals(parseTokens(")"), undefined);
  assertEquals(parseTokens('"open'), undefined);
});

Deno.test("inject: QMAILINJECT f, i, s delete fields; QMAILMFTFILE lists add Mail-Followup-To", () => {
  const out = inject(
    "From: x@example.com\nMessage-ID: <old@x>\nReturn-Path: <rp@example.com>\nTo: a@example.com\n\n",
    { env: { USER: "joe", QMAILINJECT: "fis" } },
  );
  assertEquals(out.head.split("\n").slice(0, 4), [
    "Date: 5 Mar 2024 07:08:09 -0000",
    "Message-ID: <20240305070809.1234.qmail@id.example.com>",
    "From: joe@mail.example.com",
    "To: a@example.com",
  ]);
  assertEquals(out.sender, "joe@mail.example.com");
  const list = inject("To: me@example.com, list@lists.example.com\n\n", {
    followupLists: ["list@lists.example.com"],
  });
  assert(
    list.head.includes(
      "Mail-Followup-To: me@example.com,\n  list@lists.example.com\nTo: me@example.com",
    ),
    list.head,
  );
});
