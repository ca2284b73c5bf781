import { assertEquals } from "../../tests/assert.ts";
import { MAX_POLICY_BYTES, parseResponse } from "./mta_sts_fetch.ts";

function answer(head: string, body: string | Uint8Array): Uint8Array {
  const headBytes = new TextEncoder().encode(`${head}\r\n\r\n`);
  const bodyBytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const all = new Uint8Array(headBytes.length + bodyBytes.length);
  all.set(headBytes);
  all.set(bodyBytes, headBytes.length);
  return all;
}

function parse(head: string, body: string | Uint8Array) {
  const bytes = answer(head, body);
  return parseResponse(bytes, new TextEncoder().encode(`${head}\r\n\r\n`).length);
}

Deno.test("MTA-STS fetch: 200 text/plain only; Content-Length and chunked bodies", () => {
  const policy = "version: STSv1\r\nmode: none\r\nmax_age: 60\r\n";
  assertEquals(
    parse(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${policy.length}`,
      policy + "junk",
    ),
    { ok: true, text: policy },
  );
  const chunked = `${(20).toString(16)}\r\n${policy.slice(0, 20)}\r\n` +
    `${(policy.length - 20).toString(16)};ext=1\r\n${policy.slice(20)}\r\n0\r\n\r\n`;
  assertEquals(
    parse(
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked",
      chunked,
    ),
    { ok: true, text: policy },
  );
  assertEquals(parse("HTTP/1.1 301 Moved\r\nLocation: https://x/", ""), {
    ok: false,
    reason: "HTTP status 301",
  });
  assertEquals(parse("HTTP/1.1 200 OK\r\nContent-Type: text/html", policy).ok, false);
  assertEquals(
    parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain", "x".repeat(MAX_POLICY_BYTES + 1)).ok,
    false,
  );
  assertEquals(parse("SSH-2.0-OpenSSH", "").ok, false);
  assertEquals(
    parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked", "zz\r\n").ok,
    false,
  );
});
