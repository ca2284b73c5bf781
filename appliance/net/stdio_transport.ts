/**
 * stdin/stdout as an SMTP transport, for running one session under
 * tcpserver or inetd exactly where qmail-smtpd ran.
 */
import type { Transport } from "./smtp_connection.ts";

export function stdioTransport(): Transport {
  const reader = Deno.stdin.readable.getReader();
  return {
    async read() {
      const next = await reader.read();
      return next.done ? undefined : next.value;
    },
    async write(bytes) {
      let written = 0;
      while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
    },
    close() {
      reader.releaseLock();
    },
  };
}
