/**
 * The log lines of one SMTP connection's life: qmd's own (`smtpd ID: connect
 * IP KIND`, `deny`, `... limit reached`, `close`) and, with control/log/tcpserver
 * (qmd's switch), the lines tcpserver -v wrote for qmail-smtpd, so log scripts
 * written for a tcpserver setup keep working (docs/patches.md seed 004's sample):
 *
 *   tcpserver: status: 1/20
 *   tcpserver: pid ID from REMOTEIP
 *   tcpserver: ok ID LOCALHOST:LOCALIP:LOCALPORT REMOTEHOST:REMOTEIP::REMOTEPORT
 *   tcpserver: deny ID LOCALHOST:LOCALIP:LOCALPORT REMOTEHOST:REMOTEIP::REMOTEPORT
 *   tcpserver: end ID status 0
 *
 * ID is qmd's session id where tcpserver wrote its child's pid (one process
 * serves every session); REMOTEHOST is empty unless TCPREMOTEHOST is known;
 * `status: N/M` counts the SMTP sessions open in every smtpd isolate against
 * concurrencyincoming.
 */
import { logEvent } from "../log.ts";

export interface ConnectionFacts {
  sessionId: string;
  remoteIp: string;
  remotePort?: number;
  localHost: string;
  localIp: string;
  localPort?: number;
}

export class ConnectionLog {
  readonly facts: ConnectionFacts;
  readonly #tcpserver: boolean;
  /** Open SMTP sessions (all isolates) and concurrencyincoming, for `status: N/M`. */
  readonly #status: () => [number, number];

  constructor(facts: ConnectionFacts, tcpserver: boolean, status: () => [number, number]) {
    this.facts = facts;
    this.#tcpserver = tcpserver;
    this.#status = status;
  }

  #line(event: string, text: string, fields: Record<string, unknown> = {}): void {
    const { sessionId, remoteIp } = this.facts;
    logEvent(event, `smtpd ${sessionId}: ${text}`, {
      session: sessionId,
      remote: remoteIp,
      ...fields,
    });
  }

  #tcp(text: string): void {
    if (this.#tcpserver) {
      logEvent("tcpserver", `tcpserver: ${text}`, { session: this.facts.sessionId });
    }
  }

  #endpoints(remoteHost: string | undefined): string {
    const { localHost, localIp, localPort, remoteIp, remotePort } = this.facts;
    return `${localHost}:${localIp}:${localPort ?? ""} ${remoteHost ?? ""}:${remoteIp}::${
      remotePort ?? ""
    }`;
  }

  #statusLine(): void {
    const [open, max] = this.#status();
    this.#tcp(`status: ${open}/${max}`);
  }

  /** tcp.smtp refused the client (tcprules' `:deny`). */
  denied(ruleKey: string): void {
    this.#line("smtp_deny", `deny ${this.facts.remoteIp} (tcp.smtp ${ruleKey})`);
    this.#tcp(`deny ${this.facts.sessionId} ${this.#endpoints(undefined)}`);
  }

  /** A connection limit turned the client away (421). */
  limited(which: string): void {
    this.#line("smtp_limit", `${which} limit reached for ${this.facts.remoteIp}`);
  }

  /** The session begins (it counts among the open ones). */
  connected(listener: string, remoteHost: string | undefined): void {
    this.#statusLine();
    this.#tcp(`pid ${this.facts.sessionId} from ${this.facts.remoteIp}`);
    this.#tcp(`ok ${this.facts.sessionId} ${this.#endpoints(remoteHost)}`);
    this.#line("smtp_connect", `connect ${this.facts.remoteIp} ${listener}`, { listener });
  }

  /** The session ended (and no longer counts). */
  closed(): void {
    this.#line("smtp_close", "close");
    this.#tcp(`end ${this.facts.sessionId} status 0`);
    this.#statusLine();
  }
}

/** A socket's connection log (its addresses without the IPv4-mapped `::ffff:`). */
export function connectionLog(
  socket: {
    remoteAddress?: string;
    remotePort?: number;
    localAddress?: string;
    localPort?: number;
  },
  sessionId: string,
  controls: { me: string; concurrencyIncoming: number; log: { tcpserver: boolean } },
  openSessions: () => number,
): ConnectionLog {
  const bare = (address: string | undefined, none: string) =>
    (address ?? none).replace(/^::ffff:/, "");
  return new ConnectionLog(
    {
      sessionId,
      remoteIp: bare(socket.remoteAddress, "unknown"),
      remotePort: socket.remotePort,
      localHost: controls.me,
      localIp: bare(socket.localAddress, ""),
      localPort: socket.localPort,
    },
    controls.log.tcpserver,
    () => [openSessions(), controls.concurrencyIncoming],
  );
}
