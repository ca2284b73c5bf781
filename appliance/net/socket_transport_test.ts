import { assertEquals } from "../../tests/assert.ts";
import net from "node:net";
import { closingStreams, socketTransport } from "./socket_transport.ts";

/**
 * A server whose every connection is closed by the transport: at once after
 * `reply`, or, with `afterInput`, once the client's first bytes wait unread.
 */
async function closingServer(
  options: { reply?: string; afterInput?: boolean } = {},
): Promise<
  { port: number; closed: Promise<true>; waitingAtClose: number[]; stop(): void }
> {
  let markClosed: () => void;
  const closed = new Promise<true>((resolve) => markClosed = () => resolve(true));
  /** closingStreams() right after each close(): the socket waits for its client. */
  const waitingAtClose: number[] = [];
  const server = net.createServer(async (socket) => {
    socket.on("error", () => {});
    socket.once("close", () => markClosed());
    const transport = socketTransport(socket);
    if (options.reply !== undefined) await transport.write(new TextEncoder().encode(options.reply));
    if (options.afterInput) await new Promise((resolve) => socket.once("data", resolve));
    transport.close();
    waitingAtClose.push(closingStreams());
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, closed, waitingAtClose, stop: () => server.close() };
}

Deno.test("socket transport: a plain connection with its replies sent and nothing unread closes at once", async () => {
  const server = await closingServer({ reply: "221 bye\r\n" });
  try {
    const client = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const buffer = new Uint8Array(64);
    let received = "";
    while (true) {
      const n = await client.read(buffer);
      if (n === null) break;
      received += new TextDecoder().decode(buffer.subarray(0, n));
    }
    // The last reply, then the end, with no wait for this client to close first.
    assertEquals(received, "221 bye\r\n");
    await server.closed;
    assertEquals(server.waitingAtClose, [0]);
    client.close();
  } finally {
    server.stop();
  }
});

Deno.test("socket transport: a client that closes after the server's end leaves nothing waiting", async () => {
  const server = await closingServer({ afterInput: true });
  try {
    const client = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await client.write(new TextEncoder().encode("QUIT\r\n"));
    assertEquals(await client.read(new Uint8Array(16)), null);
    assertEquals(server.waitingAtClose, [1]);
    client.close();
    await server.closed;
    assertEquals(closingStreams(), 0);
  } finally {
    server.stop();
  }
});

Deno.test("socket transport: a client that never closes is cut off after the grace second", async () => {
  const server = await closingServer({ afterInput: true });
  try {
    const client = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await client.write(new TextEncoder().encode("QUIT\r\n"));
    assertEquals(await client.read(new Uint8Array(16)), null);
    // Input waited unread: not destroyed at the close (that would be a reset);
    // it waits for the client to close its side...
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
