/**
 * Whether an address is free for this appliance alone. The smtpd and pop3d
 * isolates listen with SO_REUSEPORT so that they share each port; the kernel
 * would just as gladly let a second appliance (another home, the same user)
 * share it too, and then split the connections between the two. A listener
 * opened without SO_REUSEPORT is refused while any socket holds the address,
 * so `qmd start` opens one on each address first and closes it again before
 * the isolates bind.
 *
 * Between the probe and the isolates' bind, `holdListen` keeps each address
 * with an SO_REUSEPORT listener of our own: no other program can take the
 * port in that window (a port 0 listener is given its port this way), while
 * the isolates can still join it. What remains: a second appliance that
 * probes in the instant between this probe's close and the hold's bind.
 */
import net from "node:net";

/** host:port as an operator writes it ([::1]:25 for IPv6). */
export function formatListenAddress(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Opens and closes a listener on host:port without SO_REUSEPORT. Returns
 * undefined when that worked, else one line saying what is wrong.
 */
export async function probeListen(host: string, port: number): Promise<string | undefined> {
  const server = net.createServer();
  const where = formatListenAddress(host, port);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "EADDRINUSE") return `${where} is in use (another qmd or mail server?)`;
    if (code === "EACCES") {
      return `cannot listen on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`;
    }
    if (code === "EADDRNOTAVAIL" || code === "EINVAL") {
      return `cannot listen on ${where}: no such local address`;
    }
    return `cannot listen on ${where}: ${(error as Error).message}`;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return undefined;
}

/** An address kept for the isolates until they listen on it themselves. */
export interface HeldAddress {
  /** The port held (the kernel's choice when 0 was asked for). */
  port: number;
  release(): Promise<void>;
}

/**
 * Listens on host:port with SO_REUSEPORT so that nothing but this process's
 * isolates can bind it until `release`. A connection that reaches this
 * listener before the isolates do is closed at once (the client retries).
 */
export async function holdListen(host: string, port: number): Promise<HeldAddress> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, reusePort: true }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
