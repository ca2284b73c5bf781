import { assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import {
  bounceCopyLimit,
  formatBounceHead,
  formatBounceMessage,
  formatBounceParagraph,
  planBounce,
} from "./bounce.ts";
import { buildRoutingTable } from "./routing.ts";

const table = buildRoutingTable({
  envnoathost: "mx.example.com",
  locals: ["mx.example.com"],
  percenthack: [],
  virtualdomains: ["nowhere.mil:joe-foo"],
});

function paragraph(recipient: string, report: string): string {
  return bytesToString(formatBounceParagraph(recipient, report, table));
}

Deno.test("bounce paragraph: recipient line, text, blank line (§4.8)", () => {
  assertEquals(
    paragraph("joe@mx.example.com", "Sorry, no mailbox here by that name. (#5.1.1)\n"),
    "<joe@mx.example.com>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n",
  );
  // Text without its final LF gets one.
  assertEquals(paragraph("a@b", "no newline"), "<a@b>:\nno newline\n\n");
  // Empty text: just the recipient line.
  assertEquals(paragraph("a@b", ""), "<a@b>:\n\n");
});

Deno.test("bounce paragraph: internal blank lines become '/', LF in recipient becomes '_'", () => {
  assertEquals(paragraph("a@b", "one\n\ntwo\n"), "<a@b>:\none\n/two\n\n");
  // The final byte is exempt, so a text ending in a blank line keeps it (as qmail does).
  assertEquals(paragraph("a@b", "one\n\n\ntwo\n\n"), "<a@b>:\none\n//two\n\n\n");
  assertEquals(paragraph("a\nb@c", "x\n"), "<a_b@c>:\nx\n\n");
  assertEquals(paragraph("a@b", "\n"), "<a@b>:\n\n\n");
  assertEquals(paragraph("a@b", "x\n\ny"), "<a@b>:\nx\n/y\n\n");
});

Deno.test("bounce paragraph strips the virtual-domain prefix", () => {
  assertEquals(
    paragraph("joe-foo-info@nowhere.mil", "Sorry.\n"),
    "<info@nowhere.mil>:\nSorry.\n\n",
  );
});

Deno.test("planBounce: single, double and triple bounces", () => {
  assertEquals(planBounce("joe@x.org", "postmaster@mx.example.com"), {
    kind: "single",
    envelopeSender: "",
    recipient: "joe@x.org",
    returnPath: "joe@x.org",
  });
  assertEquals(planBounce("", "postmaster@mx.example.com"), {
    kind: "double",
    envelopeSender: "#@[]",
    recipient: "postmaster@mx.example.com",
    returnPath: "",
  });
  assertEquals(planBounce("#@[]", "postmaster@mx.example.com"), { kind: "triple" });
});

const date = new Date(Date.UTC(2024, 2, 5, 7, 8, 9));
const message = stringToBytes(
  "Received: (qmail 77 invoked by uid 1000); 5 Mar 2024 07:00:00 -0000\n" +
    "Subject: hello\n\nbody\n",
);
const bounceText = stringToBytes(
  "<nobody@mx.example.com>:\nSorry, no mailbox here by that name.\n\n",
);

Deno.test("single bounce bytes (QSBMF)", () => {
  const bytes = formatBounceMessage({
    kind: "single",
    date,
    bounceFrom: "MAILER-DAEMON",
    bounceHost: "mx.example.com",
    recipient: "john doe@x.org",
    returnPath: "john doe@x.org",
    bounceText,
    message,
    maxBytes: 0,
  });
  assertEquals(
    bytesToString(bytes),
    `Date: 5 Mar 2024 07:08:09 -0000
From: MAILER-DAEMON@mx.example.com
To: "john doe"@x.org
Subject: failure notice

Hi. This is the qmail-send program at mx.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<nobody@mx.example.com>:
Sorry, no mailbox here by that name.

--- Below this line is a copy of the message.

Return-Path: <"john doe"@x.org>
Received: (qmail 77 invoked by uid 1000); 5 Mar 2024 07:00:00 -0000
Subject: hello

body
`,
  );
});

Deno.test("double bounce bytes (QSBMF)", () => {
  const bytes = formatBounceMessage({
    kind: "double",
    date,
    bounceFrom: "MAILER-DAEMON",
    bounceHost: "mx.example.com",
    recipient: "postmaster@mx.example.com",
    returnPath: "",
    bounceText,
    message,
    maxBytes: 0,
  });
  assertEquals(
    bytesToString(bytes),
    `Date: 5 Mar 2024 07:08:09 -0000
From: MAILER-DAEMON@mx.example.com
To: postmaster@mx.example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.com.
I tried to deliver a bounce message to this address, but the bounce bounced!

<nobody@mx.example.com>:
Sorry, no mailbox here by that name.

--- Below this line is the original bounce.

Return-Path: <>
Received: (qmail 77 invoked by uid 1000); 5 Mar 2024 07:00:00 -0000
Subject: hello

body
`,
  );
});

Deno.test("bouncemaxbytes cuts the copy and says so", () => {
  assertEquals(bounceCopyLimit(100, 0), { copyBytes: 100, stripped: false });
  assertEquals(bounceCopyLimit(100, 100), { copyBytes: 100, stripped: false });
  assertEquals(bounceCopyLimit(101, 100), { copyBytes: 100, stripped: true });
  const input = {
    kind: "single" as const,
    date,
    bounceFrom: "bounce er",
    bounceHost: "h.org",
    recipient: "a@b",
    returnPath: "a@b",
    bounceText: stringToBytes("<x@y>:\nno\n\n"),
    message: stringToBytes("0123456789"),
  };
  const head = bytesToString(formatBounceHead(input));
  assertEquals(head.startsWith('Date: 5 Mar 2024 07:08:09 -0000\nFrom: "bounce er"@h.org\n'), true);
  assertEquals(
    bytesToString(formatBounceMessage({ ...input, maxBytes: 4 })),
    head + "0123\n\n--- End of message stripped.\n",
  );
  assertEquals(bytesToString(formatBounceMessage({ ...input, maxBytes: 10 })), head + "0123456789");
});
