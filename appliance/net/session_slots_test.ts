/**
 * Every session gives its connection slot back when its socket closes, in
 * every state (issue 11, 7a): 200 clients that connect to SMTPS or POP3S and
 * close before or during the TLS handshake, or close right after STARTTLS or
 * STLS was accepted, leave the slot count where it was; a handshake that
 * does not finish ends at its own deadline. The servers count sessions in
 * ConnectionLimits around the connection drivers, as the smtpd and pop3d
 * roles do. Loopback only; every loop and wait is bounded.
 */
import net from "node:net";
import { assert, assertEquals } from "../../tests/assert.ts";
import { waitFor } from "../../tests/harness.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { ConnectionLimits, createLimitsBuffer } from "./connection_limits.ts";
import { serveSmtpConnection, type SmtpConnectionOptions } from "./smtp_connection.ts";
import { servePop3Connection } from "./pop3_connection.ts";
import type { Pop3ConnectionOptions } from "./pop3_connection.ts";
import { socketTransport } from "./socket_transport.ts";
import {
  selfSignedTlsHook,
  testPop3Options,
  testSmtpOptions,
} from "../../tests/connection_options.ts";

const CLIENTS = 200;
const tlsOptions = await selfSignedTlsHook();

interface SlotServer {
  port: number;
  limits: ConnectionLimits;
  close(): Promise<void>;
}

/** A loopback listener that holds one ConnectionLimits slot per session, as the roles do. */
async function slotServer(serve: (socket: net.Socket) => Promise<void>): Promise<SlotServer> {
  const limits = new ConnectionLimits(createLimitsBuffer());
  const sessions = new Set<Promise<void>>();
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    const ip = socket.remoteAddress ?? "unknown";
    if (limits.tryAcquire(ip, { maxTotal: 0, maxPerIp: 0 }) !== "ok") return socket.destroy();
    const session = serve(socket).finally(() => {
      limits.release(ip);
      sessions.delete(session);
    });
    sessions.add(session);
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    limits,
    async close() {
      server.close();
      await Promise.allSettled([...sessions]);
    },
  };
}

function smtpOptions(overrides: Partial<SmtpConnectionOptions>): SmtpConnectionOptions {
  return testSmtpOptions({ sessionId: "slots", tls: tlsOptions, ...overrides });
}

function pop3Options(overrides: Partial<Pop3ConnectionOptions>): Pop3ConnectionOptions {
  return testPop3Options(true, {
    sessionId: "slots",
    remoteIp: "127.0.0.1",
    tls: tlsOptions,
    ...overrides,
  });
}

/** A TLS record header announcing a ClientHello, and a few bytes of it: a handshake cut short. */
const PARTIAL_CLIENT_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x50, 0x01, 0x00, 0x00]);

/**
 * Connects, runs `then` (at most 5 s), and closes: CLIENTS times, one after
 * the other, as a script doing connect-and-close would.
 */
async function connectAndClose(
  server: SlotServer,
  then: (socket: net.Socket, until: (pattern: RegExp) => Promise<void>) => Promise<void> = () =>
    Promise.resolve(),
): Promise<void> {
  for (let i = 0; i < CLIENTS; i++) {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    let received = "";
    let wake: (() => void) | undefined;
    socket.on("data", (chunk: Uint8Array) => {
      received += new TextDecoder().decode(chunk);
      wake?.();
    });
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    /** Waits (at most 5 s) until what the server sent matches. */
    const until = async (pattern: RegExp) => {
      const giveUp = Date.now() + 5000;
      while (!pattern.test(received)) {
        if (Date.now() > giveUp) throw new Error(`no ${pattern} in ${JSON.stringify(received)}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    };
    await then(socket, until);
    socket.destroy();
  }
}

async function assertSlotsReturn(server: SlotServer): Promise<void> {
  await waitFor(
    () => server.limits.total() === 0 || undefined,
    15_000,
    () => `the slots back; ${server.limits.total()} still held`,
  );
  await server.close();
}

Deno.test({
  name: "slots: 200 clients closing before or during the SMTPS handshake give their slots back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    setLogSink(() => {}, "test");
    const server = await slotServer((socket) =>
      serveSmtpConnection(socketTransport(socket), smtpOptions({ implicitTls: true }))
    );
    assertEquals(server.limits.total(), 0);
    await connectAndClose(server);
    await connectAndClose(server, async (socket) => {
      await new Promise<void>((resolve) => socket.write(PARTIAL_CLIENT_HELLO, () => resolve()));
    });
    await assertSlotsReturn(server);
  },
});

Deno.test({
  name: "slots: 200 clients closing right after STARTTLS was accepted give their slots back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    setLogSink(() => {}, "test");
    const server = await slotServer((socket) =>
      serveSmtpConnection(socketTransport(socket), smtpOptions({}))
    );
    assertEquals(server.limits.total(), 0);
    await connectAndClose(server, async (socket, until) => {
      await until(/^220 /);
      socket.write("EHLO client.example\r\nSTARTTLS\r\n");
      await until(/\r\n220 /);
    });
    await assertSlotsReturn(server);
  },
});

Deno.test({
  name: "slots: 200 clients closing during the POP3S handshake or after STLS give their slots back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    setLogSink(() => {}, "test");
    const pop3s = await slotServer((socket) =>
      servePop3Connection(socketTransport(socket), pop3Options({ implicitTls: true }))
    );
    assertEquals(pop3s.limits.total(), 0);
    await connectAndClose(pop3s);
    await assertSlotsReturn(pop3s);
    const stls = await slotServer((socket) =>
      servePop3Connection(socketTransport(socket), pop3Options({}))
    );
    await connectAndClose(stls, async (socket, until) => {
      await until(/^\+OK /);
      socket.write("STLS\r\n");
      await until(/\r\n\+OK /);
    });
    await assertSlotsReturn(stls);
  },
});

Deno.test({
  name: "slots: a TLS handshake that never finishes ends at the handshake deadline",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const records: LogRecord[] = [];
    setLogSink((record) => records.push(record), "test");
    const server = await slotServer((socket) =>
      serveSmtpConnection(
        socketTransport(socket),
        smtpOptions({ implicitTls: true, handshakeSeconds: 0.3 }),
      )
    );
    // Connected, half a ClientHello, then silence: the server must hang up.
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    socket.on("error", () => {});
    let closed = false;
    socket.on("close", () => closed = true);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(PARTIAL_CLIENT_HELLO);
    await waitFor(() => closed || undefined, 10_000, () => "the server to hang up");
    await waitFor(() => server.limits.total() === 0 || undefined, 5000, () => "the slot back");
    await server.close();
    assert(
      records.some((record) =>
        record.text === "smtpd slots: TLS handshake not finished within 0.3 s"
      ),
      records.map((record) => record.text).join("\n"),
    );
    setLogSink(() => {}, "test");
  },
});
