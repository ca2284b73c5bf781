/**
 * Opens a TCP connection for remote delivery (SMTP in client_socket.ts, QMTP
 * in qmtp_client.ts) from a chosen local address when outgoingip/senderip/
 * bindroutes ask for one, within timeoutconnect, and names why it failed:
 * the failure kinds every client operation reports (ClientSocketError).
 */
import net from "node:net";
import { MailError } from "../mail_error.ts";

/** Why a connection or an operation on it failed. */
export type ClientFailure = "timeout" | "refused" | "bind" | "closed" | "tls" | "other";

/** Always temporary: the next attempt may find the peer reachable. */
export class ClientSocketError extends MailError {
  readonly kind: ClientFailure;
  constructor(kind: ClientFailure, message: string, options?: ErrorOptions) {
    super(message, { ...options, temporary: true });
    this.kind = kind;
  }
}

export interface ConnectOptions {
  ip: string;
  port: number;
  /** Local address to bind (outgoingip, senderip, bindroutes). */
  localAddress?: string;
  timeoutMs: number;
}

/** Calls onTimeout after ms unless the returned function is called first. */
export function sleepTimer(ms: number, onTimeout: () => void): () => void {
  const timer = setTimeout(onTimeout, ms);
  return () => clearTimeout(timer);
}

/** Opens a TCP connection; rejects with ClientSocketError (timeout, refused, bind, other). */
export function openSocket(options: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: options.ip,
      port: options.port,
      localAddress: options.localAddress,
    });
    let settled = false;
    const cancel = sleepTimer(options.timeoutMs, () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new ClientSocketError("timeout", `Connection to ${options.ip} timed out`));
    });
    socket.once("error", (error: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      cancel();
      socket.destroy();
      const kind: ClientFailure = error.code === "ECONNREFUSED"
        ? "refused"
        : error.code === "EADDRNOTAVAIL" || error.code === "EINVAL"
        ? "bind"
        : error.code === "ETIMEDOUT"
        ? "timeout"
        : "other";
      reject(new ClientSocketError(kind, error.message, { cause: error }));
    });
    socket.once("connect", () => {
      if (settled) return;
      settled = true;
      cancel();
      resolve(socket);
    });
  });
}
