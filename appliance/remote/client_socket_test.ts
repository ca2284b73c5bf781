import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { startFakeMx } from "../../tests/fakes/fake_mx.ts";
import { connectClient } from "./client_socket.ts";
import { ClientSocketError } from "./open_socket.ts";

Deno.test("client socket: multi-line replies; refused connection", async () => {
  const mx = await startFakeMx({ host: "127.0.0.2" });
  try {
    const socket = await connectClient({ ip: "127.0.0.2", port: mx.port, timeoutMs: 5000 });
    assertEquals((await socket.readReply(5000))[0].slice(0, 4), "220 ");
    await socket.write("EHLO qmd.test\r\n", 5000);
    const ehlo = await socket.readReply(5000);
    assertEquals(ehlo.length > 1, true);
    assertEquals(ehlo.slice(0, -1).every((line) => line[3] === "-"), true);
    await socket.write("QUIT\r\n", 5000);
    await socket.readReply(5000);
    socket.close();
  } finally {
    await mx.close();
  }
  const error = await assertRejects(
    () => connectClient({ ip: "127.0.0.2", port: mx.port, timeoutMs: 5000 }),
    ClientSocketError,
  );
  assertEquals((error as ClientSocketError).kind, "refused");
});
