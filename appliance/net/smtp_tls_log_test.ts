/**
 * The `tls` log line names the protocol of every encrypted SMTP session,
 * whether TLS began with STARTTLS or from the first byte on the SMTPS port,
 * so an operator reading the log sees the same event for both. Loopback
 * only; every wait is bounded.
 */
import net from "node:net";
import tls from "node:tls";
import { assert, assertEquals } from "../../tests/assert.ts";
import { waitFor } from "../../tests/harness.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { serveSmtpConnection, type SmtpConnectionOptions } from "./smtp_connection.ts";
import { socketTransport } from "./socket_transport.ts";
import { selfSignedTlsHook, testSmtpOptions } from "../../tests/connection_options.ts";

const tlsHook = await selfSignedTlsHook();

function options(sessionId: string, implicitTls: boolean): SmtpConnectionOptions {
  return testSmtpOptions({ sessionId, tls: tlsHook, implicitTls });
}

/** Serves one session on a loopback port; resolves when it has ended. */
async function serveOne(
  sessionOptions: SmtpConnectionOptions,
): Promise<{ port: number; done: Promise<void>; close(): void }> {
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => finished = resolve);
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    serveSmtpConnection(socketTransport(socket), sessionOptions).finally(finished);
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    done,
    close: () => server.close(),
  };
}

/** Reads from `socket` until what arrived matches `pattern` (at most 5 s). */
function until(socket: net.Socket, pattern: RegExp): Promise<void> {
  let received = "";
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${received}`)), 5000);
    const onData = (chunk: Uint8Array) => {
      received += new TextDecoder().decode(chunk);
      if (!pattern.test(received)) return;
      clearTimeout(timer);
      socket.off("data", onData);
      resolve();
    };
    socket.on("data", onData);
  });
}

Deno.test({
  name: "smtp tls log: SMTPS and STARTTLS sessions both log the protocol in force",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const records: LogRecord[] = [];
    setLogSink((record) => records.push(record), "test");
    try {
      // SMTPS: TLS from the first byte.
      const smtps = await serveOne(options("tls.1", true));
      const client = tls.connect({
        host: "127.0.0.1",
        port: smtps.port,
        rejectUnauthorized: false,
      });
      client.on("error", () => {});
      await until(client, /^220 /);
      client.write("QUIT\r\n");
      await until(client, /221 /);
      client.destroy();
      await smtps.done;
      smtps.close();

      // STARTTLS on a plain connection.
      const plain = await serveOne(options("tls.2", false));
      const socket = net.connect({ host: "127.0.0.1", port: plain.port });
      socket.on("error", () => {});
      await until(socket, /^220 /);
      const accepted = until(socket, /\r\n220 /);
      socket.write("EHLO client.example\r\nSTARTTLS\r\n");
      await accepted;
      const upgraded = tls.connect({ socket, rejectUnauthorized: false });
      upgraded.on("error", () => {});
      await new Promise<void>((resolve) => upgraded.once("secureConnect", () => resolve()));
      upgraded.write("QUIT\r\n");
      await until(upgraded, /221 /);
      upgraded.destroy();
      await plain.done;
      plain.close();

      await waitFor(
        () => records.filter((record) => record.event === "smtp_tls").length === 2 || undefined,
        5000,
        () => records.map((record) => record.text).join("\n"),
      );
      const lines = records.filter((record) => record.event === "smtp_tls")
        .map((record) => record.text).sort();
      assertEquals(lines.length, 2);
      assert(/^smtpd tls\.1: tls TLSv1\.[23]$/.test(lines[0]), lines[0]);
      assert(/^smtpd tls\.2: tls TLSv1\.[23]$/.test(lines[1]), lines[1]);
    } finally {
      setLogSink(() => {}, "test");
    }
  },
});
