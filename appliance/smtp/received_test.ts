import { assertEquals } from "../../tests/assert.ts";
import { formatReceivedText, formatSmtpReceived } from "./received.ts";

const DATE = new Date("2024-03-05T07:08:09Z");

Deno.test("formatSmtpReceived: qmail's two lines", () => {
  assertEquals(
    formatSmtpReceived({
      remoteHost: "relay1.uu.net",
      helo: "uunet.uu.net",
      remoteInfo: "7",
      remoteIp: "192.48.96.5",
      localHost: "silverton.berkeley.edu",
    }, new Date("1995-09-26T04:46:54Z")),
    "Received: from relay1.uu.net (HELO uunet.uu.net) (7@192.48.96.5)\n" +
      "  by silverton.berkeley.edu with SMTP; 26 Sep 1995 04:46:54 -0000\n",
  );
});

Deno.test("formatSmtpReceived: HELO only when it differs case-insensitively", () => {
  const fields = { remoteHost: "Client.Example.org", remoteIp: "192.0.2.1", localHost: "mx" };
  assertEquals(
    formatSmtpReceived({ ...fields, helo: "client.EXAMPLE.ORG" }, DATE),
    "Received: from Client.Example.org (192.0.2.1)\n  by mx with SMTP; 5 Mar 2024 07:08:09 -0000\n",
  );
  assertEquals(
    formatSmtpReceived(fields, DATE),
    "Received: from Client.Example.org (192.0.2.1)\n  by mx with SMTP; 5 Mar 2024 07:08:09 -0000\n",
  );
  assertEquals(
    formatSmtpReceived({ ...fields, helo: "other" }, DATE),
    "Received: from Client.Example.org (HELO other) (192.0.2.1)\n" +
      "  by mx with SMTP; 5 Mar 2024 07:08:09 -0000\n",
  );
});

Deno.test("formatSmtpReceived: an empty TCPREMOTEINFO still writes @", () => {
  assertEquals(
    formatSmtpReceived(
      { remoteHost: "unknown", remoteInfo: "", remoteIp: "192.0.2.1", localHost: "unknown" },
      DATE,
    ),
    "Received: from unknown (@192.0.2.1)\n  by unknown with SMTP; 5 Mar 2024 07:08:09 -0000\n",
  );
});

Deno.test("formatReceivedText: bytes outside the safe set become ?", () => {
  assertEquals(
    formatReceivedText("AZaz09.@%+/=:-"),
    "AZaz09.@%+/=:-",
  );
  assertEquals(formatReceivedText(" ()[]<>_\"'\\;,!#$&*?~`^{}|"), "?".repeat(25));
  assertEquals(formatReceivedText("a\r\nb\tc\0d"), "a??b?c?d");
  // One char per byte for 8-bit HELO text, one ? per UTF-8 byte for wider text.
  assertEquals(formatReceivedText("\xe4"), "?");
  assertEquals(formatReceivedText("Ⅳ"), "???");
});

Deno.test("formatSmtpReceived: every field is sanitised", () => {
  assertEquals(
    formatSmtpReceived({
      remoteHost: "evil host\n",
      helo: "x)\nReceived: forged",
      remoteInfo: "us er",
      remoteIp: "::ffff:192.0.2.1",
      localHost: "mx example",
    }, DATE),
    "Received: from evil?host? (HELO x??Received:?forged) (us?er@::ffff:192.0.2.1)\n" +
      "  by mx?example with SMTP; 5 Mar 2024 07:08:09 -0000\n",
  );
});

Deno.test("formatSmtpReceived: the day is not padded, the time is", () => {
  assertEquals(
    formatSmtpReceived(
      { remoteHost: "h", remoteIp: "1.2.3.4", localHost: "l" },
      new Date("2025-01-01T00:00:00Z"),
    ),
    "Received: from h (1.2.3.4)\n  by l with SMTP; 1 Jan 2025 00:00:00 -0000\n",
  );
});
