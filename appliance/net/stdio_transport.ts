/**
 * stdin/stdout as an SMTP transport, for running one session under
 * tcpserver or inetd exactly where qmail-smtpd ran. The two descriptors are
 * joined into one node Duplex so the same socket transport (and its
 * STARTTLS) serves them.
 */
import { Duplex } from "node:stream";
import type { Transport } from "./smtp_connection.ts";
import { socketTransport } from "./socket_transport.ts";

async function writeStdout(bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await Deno.stdout.write(bytes.subarray(written));
  }
}

/** stdin and stdout as one Duplex stream. */
export function stdioDuplex(): Duplex {
  const reader = Deno.stdin.readable.getReader();
  return new Duplex({
    read() {
      reader.read().then(
        (next) => this.push(next.done ? null : next.value),
        (error) => this.destroy(error),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeStdout(chunk).then(() => callback(), (error) => callback(error));
    },
    final(callback) {
      callback();
    },
  });
}

export function stdioTransport(): Transport {
  return socketTransport(stdioDuplex());
}
