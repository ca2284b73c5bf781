import { assertEquals } from "../../tests/assert.ts";
import net from "node:net";
import { closingStreams, socketTransport } from "./socket_transport.ts";

/** A server whose every connection is closed by the transport as soon as it comes in. */
async function closingServer(): Promise<
  { port: number; closed: Promise<true>; waitingAtClose: number[]; stop(): void }
> {
  let markClosed: () => void;
  const closed = new Promise<true>((resolve) => markClosed = () => resolve(true));
  /** closingStreams() right after each close(): the socket waits for its client. */
  const waitingAtClose: number[] = [];
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.once("close", () => markClosed());
    socketTransport(socket).close();
    waitingAtClose.push(closingStreams());
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, closed, waitingAtClose, stop: () => server.close() };
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
    assertEquals(await client.read(new Uint8Array(16)), null);
    // Not destroyed at the close: it waits for the client to close its side...
    assertEquals(server.waitingAtClose, [1]);
    // ...which this client never does; the server lets the socket go by itself.
    let guard: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      server.closed,
      new Promise<false>((resolve) => guard = setTimeout(() => resolve(false), 10_000)),
    ]);
    clearTimeout(guard);
    assertEquals(closed, true, "the server's socket closed");
    assertEquals(closingStreams(), 0);
    client.close();
  } finally {
    server.stop();
  }
});
