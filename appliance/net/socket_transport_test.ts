import { assertEquals } from "../../tests/assert.ts";
import net from "node:net";
import { closingStreams, socketTransport } from "./socket_transport.ts";

/** A server whose every connection is closed by the transport as soon as it comes in. */
async function closingServer(): Promise<{ port: number; closed: Promise<number>; stop(): void }> {
  let closedAt: (at: number) => void;
  const closed = new Promise<number>((resolve) => closedAt = resolve);
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.once("close", () => closedAt(Date.now()));
    socketTransport(socket).close();
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, closed, stop: () => server.close() };
}

Deno.test("socket transport: a client that closes after the server's end leaves nothing waiting", async () => {
  const server = await closingServer();
  try {
    const client = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    assertEquals(await client.read(new Uint8Array(16)), null);
    client.close();
    await server.closed;
    assertEquals(closingStreams(), 0);
  } finally {
    server.stop();
  }
});

Deno.test("socket transport: a client that never closes is cut off after the grace second", async () => {
  const server = await closingServer();
  try {
    const client = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const started = Date.now();
    assertEquals(await client.read(new Uint8Array(16)), null);
    // The client keeps its side open; the server lets the socket go by itself.
    let guard: ReturnType<typeof setTimeout> | undefined;
    const closedAt = await Promise.race([
      server.closed,
      new Promise<number>((resolve) => guard = setTimeout(() => resolve(-1), 10_000)),
    ]);
    clearTimeout(guard);
    assertEquals(closedAt >= started + 900, true, `closed ${closedAt - started} ms after`);
    assertEquals(closingStreams(), 0);
    client.close();
  } finally {
    server.stop();
  }
});
