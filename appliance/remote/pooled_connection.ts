/**
 * An SMTP client connection as the pool keeps it: the socket, the
 * SmtpClientSession (appliance/smtp/client.ts) that speaks on it, the
 * timeout for each read and write (timeoutremote) and the session log
 * (control/log/remote_fd), which never shows AUTH data or the message.
 */
import { logEvent } from "../log.ts";
import type { SmtpClientSession } from "../smtp/client.ts";
import type { ClientSocket } from "./client_socket.ts";
import type { Poolable } from "./connection_pool.ts";

/**
 * An SMTP client connection and the SmtpClientSession that speaks on it;
 * pooled between messages (the session then is idle and reusable).
 */
export class SmtpConnection implements Poolable {
  readonly socket: ClientSocket;
  readonly session: SmtpClientSession;
  readonly timeoutMs: number;
  readonly #log: boolean;

  constructor(
    socket: ClientSocket,
    session: SmtpClientSession,
    timeoutMs: number,
    ctx: { logSession?: boolean },
  ) {
    this.socket = socket;
    this.session = session;
    this.timeoutMs = timeoutMs;
    this.#log = ctx.logSession === true;
  }

  get closed(): boolean {
    return this.socket.closed;
  }

  get ip(): string {
    return this.socket.ip;
  }

  /**
   * Writes command lines in one go. The session log shows each line, except
   * that a sensitive step's lines are hidden ("AUTH MECH <hidden>", "<hidden>").
   */
  async send(lines: string[], sensitive: boolean): Promise<void> {
    if (this.#log) {
      for (const line of lines) {
        const shown = !sensitive
          ? line
          : /^AUTH /i.test(line)
          ? `${line.split(" ", 2).join(" ")} <hidden>`
          : "<hidden>";
        logEvent("remote_session", `${this.ip} > ${shown}`, { ip: this.ip });
      }
    }
    await this.socket.write(lines.map((line) => `${line}\r\n`).join(""), this.timeoutMs);
  }

  async reply(): Promise<string[]> {
    const lines = await this.socket.readReply(this.timeoutMs);
    if (this.#log) {
      for (const line of lines) {
        logEvent("remote_session", `${this.ip} < ${line}`, { ip: this.ip });
      }
    }
    return lines;
  }

  /** Ends the connection: QUIT when the session is idle (not waiting for the reply), then close. */
  retire(): void {
    const lines = this.session.quit();
    if (this.socket.closed) return;
    if (lines.length > 0) this.send(lines, false).catch(() => {});
    this.socket.close();
  }
}
