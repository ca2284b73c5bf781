/**
 * A mail exchanger that reads line ends the careless way, as the receivers
 * SMTP smuggling feeds on do: a line ends at CRLF, at a bare LF or at a bare
 * CR, and the first line that is a single "." ends the data. It accepts every
 * envelope, records each message's lines (dots unstuffed), and records every
 * line it read as a command that was not one it expects, so a test sees when
 * the data ended early and the rest of the body was read as commands.
 * Loopback only; test only.
 */
import net from "node:net";

export interface LenientMx {
  readonly host: string;
  readonly port: number;
  /** Each message's lines as this receiver split them, dots unstuffed. */
  readonly messages: string[][];
  /** Lines read as commands that are not HELO/EHLO/MAIL/RCPT/DATA/RSET/NOOP/QUIT. */
  readonly stray: string[];
  close(): Promise<void>;
}

const CR = "\r";
const LF = "\n";

/** Takes the next line off `buffer` ending at CRLF, CR or LF; undefined when more bytes are needed. */
function takeLine(state: { buffer: string }): string | undefined {
  const { buffer } = state;
  let end = 0;
  while (end < buffer.length && buffer[end] !== CR && buffer[end] !== LF) end++;
  if (end === buffer.length) return undefined;
  if (buffer[end] === CR && end + 1 === buffer.length) return undefined;
  const width = buffer[end] === CR && buffer[end + 1] === LF ? 2 : 1;
  state.buffer = buffer.slice(end + width);
  return buffer.slice(0, end);
}

export async function startLenientMx(host = "127.0.0.1"): Promise<LenientMx> {
  if (!host.startsWith("127.")) throw new Error("The lenient MX listens on 127.0.0.0/8 only");
  const messages: string[][] = [];
  const stray: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const state = { buffer: "" };
    let data: string[] | undefined;
    socket.write("220 lenient.test ESMTP\r\n");
    socket.on("data", (chunk: Uint8Array) => {
      for (const byte of chunk) state.buffer += String.fromCharCode(byte);
      for (let line = takeLine(state); line !== undefined; line = takeLine(state)) {
        if (data !== undefined) {
          if (line === ".") {
            messages.push(data);
            data = undefined;
            socket.write("250 ok lenient\r\n");
          } else {
            data.push(line.startsWith(".") ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "QUIT") {
          socket.end("221 bye\r\n");
          return;
        }
        if (verb === "DATA") {
          data = [];
          socket.write("354 go ahead\r\n");
        } else if (["HELO", "EHLO", "MAIL", "RCPT", "RSET", "NOOP"].includes(verb)) {
          socket.write(`250 ${verb === "EHLO" || verb === "HELO" ? "lenient.test" : "ok"}\r\n`);
        } else {
          stray.push(line);
          socket.write("502 unrecognized\r\n");
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host,
    port,
    messages,
    stray,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
