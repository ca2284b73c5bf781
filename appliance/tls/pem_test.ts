import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { formatPem, parsePemBlocks, PemError } from "./pem.ts";

Deno.test("pem: formatPem writes 64-character lines and parsePemBlocks reads them back", () => {
  const der = Uint8Array.from({ length: 100 }, (_, i) => i);
  const text = formatPem("CERTIFICATE", der);
  const lines = text.trimEnd().split("\n");
  assertEquals(lines[0], "-----BEGIN CERTIFICATE-----");
  assertEquals(lines[lines.length - 1], "-----END CERTIFICATE-----");
  assert(lines.slice(1, -1).every((line) => line.length <= 64));
  assertEquals(lines[1].length, 64);
  const [block] = parsePemBlocks(text);
  assertEquals(block.label, "CERTIFICATE");
  assertEquals(block.der, der);
  assertEquals(block.text, text);
});

Deno.test("pem: a key and a chain in one file, CRLF, text between blocks, headers", () => {
  const key = formatPem("PRIVATE KEY", Uint8Array.of(1, 2, 3));
  const leaf = formatPem("CERTIFICATE", Uint8Array.of(4, 5));
  const chain = formatPem("CERTIFICATE", Uint8Array.of(6));
  const file = `subject=CN = mail.example.com\r\n${key.replaceAll("\n", "\r\n")}\n` +
    `Bag Attributes\n${leaf}\n  ${chain}`;
  const blocks = parsePemBlocks(file);
  assertEquals(blocks.map((block) => block.label), ["PRIVATE KEY", "CERTIFICATE", "CERTIFICATE"]);
  assertEquals(blocks.map((block) => [...block.der]), [[1, 2, 3], [4, 5], [6]]);

  const legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" +
    "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
  const [encrypted] = parsePemBlocks(legacy);
  assertEquals(encrypted.headers["proc-type"], "4,ENCRYPTED");
  assertEquals([...encrypted.der], [1, 2, 3]);
  assertEquals(parsePemBlocks("no blocks here\n"), []);
});

Deno.test("pem: broken blocks are errors naming the line", () => {
  const cases = [
    "-----BEGIN CERTIFICATE-----\nAQID\n",
    "-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n",
    "AQID\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\nAQI\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\nAQID\n-----BEGIN CERTIFICATE-----\n",
  ];
  for (const text of cases) {
    const error = assertThrows(() => parsePemBlocks(text), PemError);
    assert(/^line \d+: /.test(error.message), error.message);
  }
});
