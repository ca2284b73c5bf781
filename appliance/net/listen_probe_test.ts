import net from "node:net";
import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { holdListen, probeListen } from "./listen_probe.ts";

/** Listens with SO_REUSEPORT as the isolates do; resolves to the server. */
function joinListen(host: string, port: number): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end("220 joined\r\n"));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, reusePort: true }, () => resolve(server));
  });
}

Deno.test("listen probe: a held port is refused to others, shared with the isolates, then freed", async () => {
  const hold = await holdListen("127.0.0.1", 0);
  assert(hold.port > 0, "port 0 is given the kernel's choice");
  // Another program (no SO_REUSEPORT) cannot take it while it is held.
  const problem = await probeListen("127.0.0.1", hold.port);
  assertStringIncludes(problem ?? "", `127.0.0.1:${hold.port} is in use`);
  // The isolates can join it, and after the release they alone answer.
  const isolate = await joinListen("127.0.0.1", hold.port);
  await hold.release();
  const greeting = await new Promise<string>((resolve, reject) => {
    const client = net.connect({ host: "127.0.0.1", port: hold.port });
    client.once("error", reject);
    client.once("data", (data) => {
      client.destroy();
      resolve(String(data));
    });
  });
  assertEquals(greeting, "220 joined\r\n");
  await new Promise<void>((resolve) => isolate.close(() => resolve()));
  assertEquals(await probeListen("127.0.0.1", hold.port), undefined);
});
