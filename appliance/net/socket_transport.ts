/**
 * A node:net socket as a Transport for the connection drivers.
 */
import type net from "node:net";
import type { Transport } from "./smtp_connection.ts";

export function socketTransport(socket: net.Socket): Transport {
  const chunks = socket[Symbol.asyncIterator]();
  return {
    async read() {
      const next = await chunks.next();
      if (next.done) return undefined;
      // A view, not a copy: node:net hands out a fresh Buffer per chunk.
      const chunk = next.value as Uint8Array;
      return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    },
    write: (bytes) =>
      new Promise((resolve, reject) =>
        socket.write(bytes, (error) => (error ? reject(error) : resolve()))
      ),
    close() {
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref?.();
    },
  };
}
