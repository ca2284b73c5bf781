/**
 * The DNS transport's own edges: source addresses compared by value, and a
 * TCP server that never answers, hangs up, or answers another question.
 */
import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { encodeQuery } from "./wire.ts";
import { exchangeTcp, type Query, sameAddress, serverLabel } from "./transport.ts";

function query(id: number): Query {
  return { id, name: "a.example", type: "A", bytes: encodeQuery(id, "a.example", "A", false) };
}

/** A TCP listener that does `serve` with each connection; closed after `body`. */
async function withTcp(
  serve: (conn: Deno.Conn) => Promise<void>,
  body: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      serve(conn).catch(() => {});
    }
  })();
  try {
    await body(listener.addr.port);
  } finally {
    listener.close();
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed by the server already
      }
    }
    await accepting.catch(() => {});
  }
}

Deno.test("dns transport: source addresses compare by value; servers print with brackets", () => {
  assertEquals(sameAddress("127.0.0.1", "127.0.0.1"), true);
  assertEquals(sameAddress("127.0.0.1", "127.0.0.2"), false);
  assertEquals(sameAddress("::1", "0:0:0:0:0:0:0:1"), true);
  assertEquals(sameAddress("2001:DB8::53", "2001:db8:0:0::53"), true);
  assertEquals(sameAddress("::ffff:192.0.2.1", "::ffff:c000:201"), true);
  assertEquals(sameAddress("2001:db8::53", "2001:db8::54"), false);
  assertEquals(serverLabel({ ipAddr: "::1", port: 53 }), "[::1]:53");
  assertEquals(serverLabel({ ipAddr: "192.0.2.53", port: 5353 }), "192.0.2.53:5353");
});

Deno.test("dns transport: TCP that never answers times out; a hang-up or a wrong answer fails", async () => {
  await withTcp(() => new Promise(() => {}), async (port) => {
    const result = await exchangeTcp({ ipAddr: "127.0.0.1", port }, query(1), 200);
    assertEquals(result.ok, false);
    if (!result.ok) assertMatch(result.reason, /timed out \(TCP\)/);
  });
  await withTcp((conn) => Promise.resolve(conn.close()), async (port) => {
    const result = await exchangeTcp({ ipAddr: "127.0.0.1", port }, query(2), 5000);
    assertEquals(result.ok, false);
    if (!result.ok) assertMatch(result.reason, /closed without an answer/);
  });
  // The server echoes our query back with another ID: not an answer to us.
  await withTcp(async (conn) => {
    const framed = new Uint8Array(2 + 27); // the length and our 27-byte query
    await conn.read(framed);
    framed[2] ^= 0xff;
    framed[4] |= 0x80; // QR: a response
    await conn.write(framed);
  }, async (port) => {
    const result = await exchangeTcp({ ipAddr: "127.0.0.1", port }, query(3), 5000);
    assertEquals(result.ok, false);
    if (!result.ok) assertMatch(result.reason, /does not match the question/);
  });
  // Nothing listens: refused at once.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await exchangeTcp({ ipAddr: "127.0.0.1", port }, query(4), 5000);
  assertEquals(refused.ok, false);
});
