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
      return next.done ? undefined : new Uint8Array(next.value as Uint8Array);
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
