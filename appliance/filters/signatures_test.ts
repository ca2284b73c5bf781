import { assertEquals } from "../../tests/assert.ts";
import { REPLY_EXECUTABLE, signatureScan, SignatureScanner } from "./signatures.ts";

const CONTROLS = {
  signatures: [
    { prefix: "TVqQAAMAA", line: 2 },
    { prefix: "TVpQAAIAA", line: 3 },
  ],
};

const encoder = new TextEncoder();

/** The scanner's hit for `text` pushed in pieces of `size` bytes (0: at once). */
function scan(text: string, size = 0): string | undefined {
  const scanner = new SignatureScanner(CONTROLS);
  const bytes = encoder.encode(text);
  const step = size === 0 ? bytes.length : size;
  for (let i = 0; i < bytes.length; i += step) scanner.push(bytes.subarray(i, i + step));
  scanner.end();
  return scanner.hit?.prefix;
}

/** A message with LF line ends, as the queue stores it. */
function lines(...each: string[]): string {
  return each.join("\n") + "\n";
}

const ATTACHMENT = lines(
  "From: a@example.test",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="outer"',
  "",
  "This is a multi-part message.",
  "--outer",
  "Content-Type: text/plain",
  "",
  "TVqQAAMAA in plain text is not an attachment",
  "--outer",
  "Content-Type: application/octet-stream; name=x.exe",
  "Content-Transfer-Encoding: base64",
  "",
  "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "AAAAgAAAAA4fug4AtAnNIbgBTM0hVGhpcyBwcm9ncmFtIGNhbm5vdCBiZSBydW4gaW4gRE9TIG1v",
  "--outer--",
);

Deno.test("signatures: a base64 part whose first line starts with a signature is a hit", () => {
  assertEquals(scan(ATTACHMENT), "TVqQAAMAA");
});

Deno.test("signatures: the same hit whatever the chunk boundaries, CRLF too", () => {
  for (const size of [1, 2, 3, 7, 64, 100]) {
    assertEquals(scan(ATTACHMENT, size), "TVqQAAMAA", `pieces of ${size}`);
    assertEquals(scan(ATTACHMENT.replaceAll("\n", "\r\n"), size), "TVqQAAMAA", `CRLF ${size}`);
  }
});

Deno.test("signatures: only the first body line counts, and only in base64 parts", () => {
  const laterLine = ATTACHMENT.replace(
    "TVqQAAMAAAAEAAAA",
    "AAAAAAAAAAAAAAAA\nTVqQAAMAAAAEAAAA",
  );
  assertEquals(scan(laterLine), undefined);
  const quoted = ATTACHMENT.replace("Content-Transfer-Encoding: base64", "X-Note: none");
  assertEquals(scan(quoted), undefined);
  // The plain-text part starts with a signature's letters: no base64, no hit.
  assertEquals(
    scan(
      ATTACHMENT.replace("application/octet-stream; name=x.exe", "text/plain").replace(
        "TVqQAAMAAAAEAAAA",
        "QUJDREVGR0hJSktM",
      ),
    ),
    undefined,
  );
});

Deno.test("signatures: nested multiparts, folded headers and an unquoted boundary", () => {
  const nested = lines(
    "Content-Type: multipart/mixed;",
    "\tboundary=outer",
    "",
    "--outer",
    'Content-Type: multipart/alternative; boundary="inner"',
    "",
    "--inner",
    "Content-Type: text/plain",
    "",
    "hello",
    "--inner--",
    "--outer",
    "Content-Type: application/zip",
    "Content-Transfer-Encoding: BASE64",
    "",
    "TVpQAAIAAAAEAA8A//8AALgAAAAAAAAAQAAaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "--outer--",
  );
  assertEquals(scan(nested), "TVpQAAIAA");
  for (const size of [1, 5, 13]) assertEquals(scan(nested, size), "TVpQAAIAA");
});

Deno.test("signatures: an outer boundary closes inner parts left open", () => {
  const unclosed = lines(
    "Content-Type: multipart/mixed; boundary=outer",
    "",
    "--outer",
    "Content-Type: multipart/alternative; boundary=inner",
    "",
    "--inner",
    "Content-Type: text/plain",
    "",
    "no closing inner boundary follows",
    "--outer",
    "Content-Transfer-Encoding: base64",
    "",
    "TVqQAAMAAAAEAAAA",
    "--outer--",
  );
  assertEquals(scan(unclosed), "TVqQAAMAA");
});

Deno.test("signatures: a boundary-like line of another multipart, and the epilogue, are not parts", () => {
  const text = lines(
    "Content-Type: multipart/mixed; boundary=b",
    "",
    "--b",
    "Content-Type: text/plain",
    "",
    "--bx is not the boundary",
    "--b--",
    "Content-Transfer-Encoding: base64",
    "",
    "TVqQAAMAAAAEAAAA in the epilogue",
  );
  assertEquals(scan(text), undefined);
});

Deno.test("signatures: an attached message's own base64 body is checked", () => {
  const text = lines(
    "Content-Type: multipart/mixed; boundary=b",
    "",
    "--b",
    "Content-Type: message/rfc822",
    "",
    "From: c@example.test",
    "Content-Type: application/octet-stream",
    "Content-Transfer-Encoding: base64",
    "",
    "TVqQAAMAAAAEAAAA",
    "--b--",
  );
  assertEquals(scan(text), "TVqQAAMAA");
});

Deno.test("signatures: a single-part base64 message, the last line without its LF", () => {
  assertEquals(
    scan("Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA", 4),
    "TVqQAAMAA",
  );
  assertEquals(scan("Subject: TVqQAAMAA\n\nTVqQAAMAAAAEAAAA\n"), undefined);
});

Deno.test("signatures: very long lines are cut, not buffered", () => {
  const long = "A".repeat(100_000);
  const text = lines(
    "Content-Type: multipart/mixed; boundary=b",
    `X-Long: ${long}`,
    "",
    long,
    "--b",
    "Content-Transfer-Encoding: base64",
    "",
    `TVqQAAMAA${long}`,
    "--b--",
  );
  assertEquals(scan(text, 4096), "TVqQAAMAA");
});

Deno.test("signatures: the scan refuses with the rule's line, or passes", async () => {
  const hit = signatureScan(CONTROLS);
  await hit.write(encoder.encode(ATTACHMENT));
  assertEquals(await hit.finish(), {
    kind: "refuse",
    reply: [REPLY_EXECUTABLE],
    rule: { check: "signatures", source: "control/signatures", line: 2, entry: "TVqQAAMAA" },
  });
  const clean = signatureScan(CONTROLS);
  await clean.write(encoder.encode(lines("Subject: hi", "", "hello")));
  assertEquals(await clean.finish(), { kind: "pass" });
});
