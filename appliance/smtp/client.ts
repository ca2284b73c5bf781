/**
 * qmail-remote's SMTP dialogue (qmail-formats.md §5.8 step 7) as a pure state
 * machine, with the seed patches: EHLO with HELO fallback, SIZE=, PIPELINING
 * for MAIL+RCPT (RFC 2920), 8BITMIME, STARTTLS (RFC 3207; tlsremote, pinned
 * tlshosts), AUTH (RFC 4954; seed 000 README.rauth's five mechanisms), next MX
 * on a 4xx/5xx greeting (seed 002), and RSET for another message on the same
 * connection (beyond qmail).
 *
 * The driver owns the socket and the clock. Protocol:
 *
 *   const session = new SmtpClientSession(options);   // after connecting
 *   let step = session.start();                        // nothing to send: await the greeting
 *   loop until step.done:
 *     write step.send (each line + CRLF; log "AUTH …" lines as hidden when step.sensitive)
 *     if step.startTls: upgrade the socket, then step = session.tlsStarted()
 *                       (or session.tlsFailed(kind, reason)); continue
 *     if step.streamBody: stream the message (every LF, CR LF and lone CR as CRLF, a
 *                       line-leading "." doubled, then ".\r\n": DataEncoder in remote/body_encoder.ts),
 *                       then step = session.bodySent()  (or session.bodyFailed(kind)); continue
 *     read one whole reply (all lines, without CRLF; see isLastReplyLine), then
 *       step = session.reply(lines)     (timeout/EOF/error: step = session.connectionLost())
 *   step.done = { outcome, records, reusable }.
 *
 * When done and not reusable, step.send holds "QUIT" (qmail sends it without
 * waiting for the reply) unless the connection is already dead or TLS broke.
 * When reusable, the connection is idle in a clean state: call quit() (lines
 * to write, then close) or nextMessage(message) for another transaction
 * (RSET first; a failure before any MAIL reply gives outcome "stale": nothing
 * was attempted, deliver again on a fresh connection).
 *
 * Records follow §5.7/§5.8: r/h/s per recipient in order (text "IP does not
 * like recipient.\nRemote host said: …\n"), then one K/Z/D. "Remote host said:
 * …" follows the first report after a server reply, once (qmail's outsmtptext
 * empties smtptext), so "Giving up on IP.\n" carries none.
 *
 * Texts beyond vanilla qmail (record letter in brackets):
 *   [Z/next-mx] greeting 4xx/5xx: "Connected to IP but greeting failed.\n" + said (seed 002).
 *   [Z] "No TLS achieved while PIN exists; connected to IP.\n"  (pinned, STARTTLS not offered)
 *   [Z] "STARTTLS rejected while PIN exists; connected to IP.\n" + said  (pinned)
 *   [Z] "TLS connect failed: REASON; connected to IP.\n"       (handshake, tlsFailed("handshake"))
 *   [Z] "TLS unable to verify server with PIN: REASON; connected to IP.\n" (tlsFailed("verify"))
 *       (the qmail-tls patch's texts; PIN = the tlshosts file named in the options)
 *   [Z] "Connected to IP but AUTH is not allowed without TLS (secauthremote).\n"
 *   [Z] "Connected to IP but no AUTH mechanism I support was offered.\n"
 *   [Z/D] "Connected to IP but authentication was rejected (AUTH MECH).\n" + said (4xx Z, 5xx D)
 *   [Z] "Connected to IP but authentication failed (AUTH MECH): REASON.\n" (bad challenge)
 *   [Z/stale] "Connected to IP but RSET was rejected.\n" + said (reuse)
 * A reply whose first three characters are not digits counts as code 451.
 */
import { SaslClient, SaslClientError } from "../auth/sasl_client.ts";
import type { MechanismName } from "../auth/mechanisms.ts";
import { quoteAddress } from "../quote_address.ts";
import { formatRemoteHostSaid, type RemoteRecord } from "../send/remote_report.ts";

/** One message's envelope for the session. */
export interface SmtpMessage {
  /** Envelope sender (unquoted; "" = null sender). Quoted as qmail does (§4.10). */
  sender: string;
  /** Envelope recipients (unquoted), at least one. */
  recipients: string[];
  /** Size in bytes as sent (after LF→CRLF) for SIZE= when offered (RFC 1870). */
  size?: number;
  /** The body has 8-bit bytes: BODY=8BITMIME when offered (RFC 6152). */
  eightBit?: boolean;
}

/** STARTTLS policy (seed 001 tlsremote, tlshosts/<FQDN>.pem). */
export type TlsPolicy =
  /** Never STARTTLS. */
  | { mode: "off" }
  /** tlsremote: STARTTLS when offered; a rejected STARTTLS continues in plain text. */
  | { mode: "opportunistic" }
  /** A pinned host: TLS or defer, never plain. pinFile names the file in texts. */
  | { mode: "required"; pinFile: string };

export interface SmtpClientOptions {
  /** The server's address as printed in texts ("1.2.3.4"). */
  ip: string;
  /** EHLO/HELO argument (control/helohost, else me). */
  heloHost: string;
  tls: TlsPolicy;
  /** The connection is already TLS (SMTPS): no STARTTLS. */
  tlsActive?: boolean;
  /** Smart-host credentials (smtprelays / smtproutes); mechanism undefined = best offered. */
  auth?: { user: string; password: string; mechanism?: string };
  /** secauthremote (seed 001): AUTH only after TLS. */
  secAuthRemote?: boolean;
  message: SmtpMessage;
}

/** What the server offered in its EHLO reply. */
export interface Capabilities {
  esmtp: boolean;
  /** SIZE offered; the limit when given (0 = none). */
  size?: number;
  pipelining: boolean;
  eightBitMime: boolean;
  startTls: boolean;
  /** AUTH mechanisms (upper case), from "AUTH x y" and the old "AUTH=x y". */
  auth: string[];
}

export interface ClientResult {
  /**
   * delivered: K. failed: the records end in Z or D. next-mx: the greeting
   * was 4xx/5xx, try the next address (seed 002; the records hold the Z text
   * to report when none is left). stale: a reused connection failed before
   * any MAIL reply; nothing was attempted.
   */
  outcome: "delivered" | "failed" | "next-mx" | "stale";
  /** r/h/s per recipient (may be fewer), then one K/Z/D. */
  records: RemoteRecord[];
  /** The connection is idle and clean: quit() or nextMessage() may follow. */
  reusable: boolean;
}

export interface ClientStep {
  /** Command lines to write now, in order, each followed by CRLF. */
  send: string[];
  /** Some line in `send` carries credentials: never log it as is. */
  sensitive: boolean;
  /** Upgrade the connection to TLS now, then call tlsStarted() or tlsFailed(). */
  startTls: boolean;
  /** Stream the message body now, then call bodySent() or bodyFailed(). */
  streamBody: boolean;
  /** Set when the session has finished with this message. */
  done?: ClientResult;
}

type State =
  | "new"
  | "greeting"
  | "ehlo"
  | "helo"
  | "starttls"
  | "tls"
  | "auth"
  | "rset"
  | "envelope"
  | "data"
  | "body"
  | "final"
  | "done"
  | "closed";

/** RFC 4954 preference when the route names no mechanism (brief: strongest first). */
export const AUTH_PREFERENCE = ["CRAM-RIPEMD", "CRAM-SHA1", "CRAM-MD5", "PLAIN", "LOGIN"] as const;

/** Whether a reply line is the last of its reply (no "-" as the fourth character). */
export function isLastReplyLine(line: string): boolean {
  return line.charAt(3) !== "-";
}

/** The reply's code: the first three characters of its first line; not digits → 451. */
export function replyCode(lines: string[]): number {
  const head = (lines[0] ?? "").slice(0, 3);
  return /^\d{3}$/.test(head) ? Number(head) : 451;
}

/** Capabilities from a 250 EHLO reply (lines after the first; RFC 5321 §4.1.1.1). */
export function parseEhloCapabilities(lines: string[]): Capabilities {
  const caps: Capabilities = {
    esmtp: true,
    pipelining: false,
    eightBitMime: false,
    startTls: false,
    auth: [],
  };
  for (const line of lines.slice(1)) {
    const words = line.slice(4).trim().split(/[ \t=]+/).filter((word) => word !== "");
    const keyword = (words[0] ?? "").toUpperCase();
    if (keyword === "SIZE") {
      const limit = Number(words[1] ?? "0");
      caps.size = Number.isSafeInteger(limit) && limit > 0 ? limit : 0;
    } else if (keyword === "PIPELINING") caps.pipelining = true;
    else if (keyword === "8BITMIME") caps.eightBitMime = true;
    else if (keyword === "STARTTLS") caps.startTls = true;
    else if (keyword === "AUTH") {
      for (const word of words.slice(1)) {
        const mechanism = word.toUpperCase();
        if (!caps.auth.includes(mechanism)) caps.auth.push(mechanism);
      }
    }
  }
  return caps;
}

const CLIENT_MECHANISMS = new Set<string>(AUTH_PREFERENCE);

/** The mechanism to use: the route's, else the most preferred one offered, else undefined. */
export function chooseMechanism(
  offered: string[],
  named: string | undefined,
): MechanismName | undefined {
  if (named !== undefined) {
    const upper = named.toUpperCase();
    return CLIENT_MECHANISMS.has(upper) ? upper as MechanismName : undefined;
  }
  return AUTH_PREFERENCE.find((mechanism) => offered.includes(mechanism));
}

function step(send: string[] = [], extra: Partial<ClientStep> = {}): ClientStep {
  return { send, sensitive: false, startTls: false, streamBody: false, ...extra };
}

/** The SMTP client side of one connection; see the module comment for the protocol. */
export class SmtpClientSession {
  readonly #options: SmtpClientOptions;
  #state: State = "new";
  #message: SmtpMessage;
  #caps: Capabilities = {
    esmtp: false,
    pipelining: false,
    eightBitMime: false,
    startTls: false,
    auth: [],
  };
  #tlsActive: boolean;
  #authenticated = false;
  #sasl: SaslClient | undefined;
  #mechanism = "";
  /** Replies still expected for the envelope commands sent (MAIL first, then RCPTs). */
  #pending = 0;
  #envelopeReplies: string[][] = [];
  #pipelined = false;
  #records: RemoteRecord[] = [];
  #reused = false;
  #reusable = false;

  constructor(options: SmtpClientOptions) {
    if (options.message.recipients.length === 0) throw new Error("A message needs a recipient");
    this.#options = options;
    this.#message = options.message;
    this.#tlsActive = options.tlsActive ?? false;
  }

  /** What the server offered (after EHLO; all false after a HELO fallback). */
  get capabilities(): Capabilities {
    return this.#caps;
  }

  /** Whether TLS is on (STARTTLS done or SMTPS). */
  get tlsActive(): boolean {
    return this.#tlsActive;
  }

  /** Whether AUTH succeeded on this connection. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** The first step after connecting: nothing to send, await the greeting. */
  start(): ClientStep {
    this.#expect("new");
    this.#state = "greeting";
    return step();
  }

  /** One whole server reply (every line, without CRLF). */
  reply(lines: string[]): ClientStep {
    if (lines.length === 0) throw new Error("A reply has at least one line");
    const code = replyCode(lines);
    switch (this.#state) {
      case "greeting":
        return this.#onGreeting(code, lines);
      case "ehlo":
        return this.#onEhlo(code, lines);
      case "helo":
        if (code !== 250) {
          return this.#fail("Z", `Connected to ${this.#ip} but my name was rejected.\n`, lines);
        }
        this.#caps = {
          esmtp: false,
          pipelining: false,
          eightBitMime: false,
          startTls: false,
          auth: [],
        };
        return this.#afterHello();
      case "starttls":
        return this.#onStartTls(code, lines);
      case "auth":
        return this.#onAuth(code, lines);
      case "rset":
        if (code !== 250) {
          return this.#finish("stale", false, [
            {
              kind: "Z",
              text: `Connected to ${this.#ip} but RSET was rejected.\n${
                formatRemoteHostSaid(lines)
              }`,
            },
          ], true);
        }
        return this.#sendEnvelope();
      case "envelope":
        return this.#onEnvelope(lines);
      case "data":
        return this.#onData(code, lines);
      case "final":
        return this.#onFinal(code, lines);
      default:
        throw new Error(`Unexpected server reply in state ${this.#state}`);
    }
  }

  /** The TLS handshake (and, for a pinned host, verification) succeeded: EHLO again (RFC 3207 §4.2). */
  tlsStarted(): ClientStep {
    this.#expect("tls");
    this.#tlsActive = true;
    this.#state = "ehlo";
    return step([`EHLO ${this.#options.heloHost}`]);
  }

  /** The TLS handshake or the pinned verification failed: defer, never fall back to plain text. */
  tlsFailed(kind: "handshake" | "verify", reason: string): ClientStep {
    this.#expect("tls");
    const pin = this.#options.tls.mode === "required" ? this.#options.tls.pinFile : "the server";
    const text = kind === "verify"
      ? `TLS unable to verify server with ${pin}: ${reason}; connected to ${this.#ip}.\n`
      : `TLS connect failed: ${reason}; connected to ${this.#ip}.\n`;
    return this.#finish("failed", false, [{ kind: "Z", text }], false);
  }

  /** The body and its final ".\r\n" were written: await the server's verdict. */
  bodySent(): ClientStep {
    this.#expect("body");
    this.#state = "final";
    return step();
  }

  /**
   * The body could not be sent from our side (§5.8 step 7): "partial" = a final
   * line without LF, "unreadable" = the message could not be read. The
   * connection is mid-DATA and must be closed.
   */
  bodyFailed(kind: "partial" | "unreadable"): ClientStep {
    this.#expect("body");
    const record: RemoteRecord = kind === "partial"
      ? { kind: "D", text: "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n" }
      : { kind: "Z", text: "Unable to read message. (#4.3.0)\n" };
    return this.#finish("failed", false, [record], false);
  }

  /**
   * The connection dropped or timed out (§5.8 step 7): "Connected to IP but
   * connection died. (#4.4.2)\n", with "Possible duplicate! " after the final
   * dot was sent. On a reused connection before any MAIL reply: outcome stale.
   */
  connectionLost(): ClientStep {
    if (this.#state === "done" || this.#state === "closed") {
      this.#state = "closed";
      this.#reusable = false;
      return step([], { done: { outcome: "failed", records: [], reusable: false } });
    }
    const critical = this.#state === "final" ? "Possible duplicate! " : "";
    const record: RemoteRecord = {
      kind: "Z",
      text: `Connected to ${this.#ip} but connection died. ${critical}(#4.4.2)\n`,
    };
    const stale = this.#reused &&
      (this.#state === "rset" ||
        (this.#state === "envelope" && this.#envelopeReplies.length === 0));
    return this.#finish(stale ? "stale" : "failed", false, [record], false);
  }

  /** Another message on this idle, reusable connection: RSET, then its envelope. */
  nextMessage(message: SmtpMessage): ClientStep {
    if (this.#state !== "done" || !this.#reusable) {
      throw new Error("The connection cannot be reused");
    }
    if (message.recipients.length === 0) throw new Error("A message needs a recipient");
    this.#message = message;
    this.#records = [];
    this.#envelopeReplies = [];
    this.#reused = true;
    this.#reusable = false;
    this.#state = "rset";
    return step(["RSET"]);
  }

  /** The lines that end an idle connection ("QUIT", sent without waiting for the reply). */
  quit(): string[] {
    const open = this.#state !== "closed";
    this.#state = "closed";
    this.#reusable = false;
    return open ? ["QUIT"] : [];
  }

  get #ip(): string {
    return this.#options.ip;
  }

  #expect(state: State): void {
    if (this.#state !== state) throw new Error(`Expected state ${state}, in ${this.#state}`);
  }

  #finish(
    outcome: ClientResult["outcome"],
    reusable: boolean,
    records: RemoteRecord[],
    sendQuit: boolean,
  ): ClientStep {
    this.#records.push(...records);
    this.#reusable = reusable;
    this.#state = reusable ? "done" : "closed";
    const result: ClientResult = { outcome, records: this.#records, reusable };
    return step(sendQuit && !reusable ? ["QUIT"] : [], { done: result });
  }

  /** A failure answered by the server: the record text plus "Remote host said", QUIT. */
  #fail(kind: "Z" | "D", text: string, lines: string[], reusable = false): ClientStep {
    const code = replyCode(lines);
    return this.#finish(
      "failed",
      reusable && code !== 421,
      [{ kind, text: text + formatRemoteHostSaid(lines) }],
      true,
    );
  }

  #onGreeting(code: number, lines: string[]): ClientStep {
    if (code === 220) {
      this.#state = "ehlo";
      return step([`EHLO ${this.#options.heloHost}`]);
    }
    const text = `Connected to ${this.#ip} but greeting failed.\n${formatRemoteHostSaid(lines)}`;
    const nextMx = code >= 400 && code < 600;
    return this.#finish(nextMx ? "next-mx" : "failed", false, [{ kind: "Z", text }], true);
  }

  #onEhlo(code: number, lines: string[]): ClientStep {
    if (code === 250) {
      this.#caps = parseEhloCapabilities(lines);
      return this.#afterHello();
    }
    if (code >= 500) {
      this.#state = "helo";
      return step([`HELO ${this.#options.heloHost}`]);
    }
    return this.#fail("Z", `Connected to ${this.#ip} but my name was rejected.\n`, lines);
  }

  /** After EHLO/HELO: STARTTLS, then AUTH, then the envelope. */
  #afterHello(): ClientStep {
    const tls = this.#options.tls;
    if (!this.#tlsActive && tls.mode !== "off") {
      if (this.#caps.startTls) {
        this.#state = "starttls";
        return step(["STARTTLS"]);
      }
      if (tls.mode === "required") {
        return this.#finish("failed", false, [{
          kind: "Z",
          text: `No TLS achieved while ${tls.pinFile} exists; connected to ${this.#ip}.\n`,
        }], true);
      }
    }
    return this.#afterTls();
  }

  #onStartTls(code: number, lines: string[]): ClientStep {
    if (code === 220) {
      this.#state = "tls";
      return step([], { startTls: true });
    }
    const tls = this.#options.tls;
    if (tls.mode === "required") {
      return this.#fail(
        "Z",
        `STARTTLS rejected while ${tls.pinFile} exists; connected to ${this.#ip}.\n`,
        lines,
      );
    }
    return this.#afterTls();
  }

  #afterTls(): ClientStep {
    const auth = this.#options.auth;
    if (auth === undefined || this.#authenticated) return this.#sendEnvelope();
    if (this.#options.secAuthRemote && !this.#tlsActive) {
      return this.#finish("failed", false, [{
        kind: "Z",
        text: `Connected to ${this.#ip} but AUTH is not allowed without TLS (secauthremote).\n`,
      }], true);
    }
    const mechanism = chooseMechanism(this.#caps.auth, auth.mechanism);
    if (mechanism === undefined) {
      return this.#finish("failed", false, [{
        kind: "Z",
        text: `Connected to ${this.#ip} but no AUTH mechanism I support was offered.\n`,
      }], true);
    }
    this.#mechanism = mechanism;
    this.#sasl = new SaslClient(mechanism, { user: auth.user, password: auth.password });
    this.#state = "auth";
    const initial = this.#sasl.initialResponse();
    const line = initial === undefined ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initial}`;
    return step([line], { sensitive: initial !== undefined });
  }

  #onAuth(code: number, lines: string[]): ClientStep {
    const mechanism = this.#mechanism;
    if (code === 334 && this.#sasl !== undefined) {
      try {
        const answer = this.#sasl.respond(lines[0].slice(4).trim());
        return step([answer], { sensitive: true });
      } catch (error) {
        if (!(error instanceof SaslClientError)) throw error;
        return this.#finish("failed", false, [{
          kind: "Z",
          text: `Connected to ${this.#ip} but authentication failed (AUTH ${mechanism}): ${
            error.message.replace(/\.$/, "")
          }.\n`,
        }], true);
      }
    }
    if (code >= 200 && code < 300) {
      this.#authenticated = true;
      this.#sasl = undefined;
      return this.#sendEnvelope();
    }
    return this.#fail(
      code >= 500 ? "D" : "Z",
      `Connected to ${this.#ip} but authentication was rejected (AUTH ${mechanism}).\n`,
      lines,
    );
  }

  #mailLine(): string {
    const message = this.#message;
    let line = `MAIL FROM:<${quoteAddress(message.sender)}>`;
    if (this.#caps.size !== undefined && message.size !== undefined) {
      line += ` SIZE=${message.size}`;
    }
    if (this.#caps.eightBitMime && message.eightBit) line += " BODY=8BITMIME";
    return line;
  }

  #rcptLine(index: number): string {
    return `RCPT TO:<${quoteAddress(this.#message.recipients[index])}>`;
  }

  #sendEnvelope(): ClientStep {
    this.#state = "envelope";
    this.#envelopeReplies = [];
    this.#pipelined = this.#caps.pipelining;
    if (this.#pipelined) {
      const recipients = this.#message.recipients.map((_, index) => this.#rcptLine(index));
      this.#pending = 1 + recipients.length;
      return step([this.#mailLine(), ...recipients]);
    }
    this.#pending = 1;
    return step([this.#mailLine()]);
  }

  #onEnvelope(lines: string[]): ClientStep {
    this.#envelopeReplies.push(lines);
    this.#pending--;
    const count = this.#envelopeReplies.length;
    if (!this.#pipelined) {
      // One command at a time: stop at a rejected MAIL, else the next RCPT.
      if (count === 1 && replyCode(lines) >= 400) return this.#evaluateEnvelope();
      if (count <= this.#message.recipients.length) {
        this.#pending = 1;
        return step([this.#rcptLine(count - 1)]);
      }
    }
    if (this.#pending > 0) return step();
    return this.#evaluateEnvelope();
  }

  /** §5.8 step 7 for MAIL and the RCPTs, in order. */
  #evaluateEnvelope(): ClientStep {
    const [mail, ...rcpts] = this.#envelopeReplies;
    const mailCode = replyCode(mail);
    const lastCode = replyCode(this.#envelopeReplies[this.#envelopeReplies.length - 1]);
    const reusable = lastCode !== 421 && mailCode !== 421;
    if (mailCode >= 400) {
      return this.#fail(
        mailCode >= 500 ? "D" : "Z",
        `Connected to ${this.#ip} but sender was rejected.\n`,
        mail,
        reusable,
      );
    }
    let accepted = 0;
    for (const lines of rcpts) {
      const code = replyCode(lines);
      if (code >= 400) {
        this.#records.push({
          kind: code >= 500 ? "h" : "s",
          text: `${this.#ip} does not like recipient.\n${formatRemoteHostSaid(lines)}`,
        });
      } else {
        accepted++;
        this.#records.push({ kind: "r", text: "" });
      }
    }
    if (accepted === 0) {
      return this.#finish(
        "failed",
        reusable,
        [{ kind: "D", text: `Giving up on ${this.#ip}.\n` }],
        true,
      );
    }
    if (!reusable) {
      return this.#finish("failed", false, [{
        kind: "Z",
        text: `Connected to ${this.#ip} but connection died. (#4.4.2)\n`,
      }], true);
    }
    this.#state = "data";
    return step(["DATA"]);
  }

  #onData(code: number, lines: string[]): ClientStep {
    if (code >= 400) {
      return this.#fail(
        code >= 500 ? "D" : "Z",
        `${this.#ip} failed on DATA command.\n`,
        lines,
        true,
      );
    }
    this.#state = "body";
    return step([], { streamBody: true });
  }

  #onFinal(code: number, lines: string[]): ClientStep {
    if (code >= 400) {
      return this.#fail(
        code >= 500 ? "D" : "Z",
        `${this.#ip} failed after I sent the message.\n`,
        lines,
        true,
      );
    }
    return this.#finish("delivered", true, [{
      kind: "K",
      text: `${this.#ip} accepted message.\n${formatRemoteHostSaid(lines)}`,
    }], false);
  }
}
