/**
 * qmail-remote's SMTP dialogue (docs/queue-format.md §5.8 step 7) as a pure state
 * machine, with the seed patches: EHLO with HELO fallback, SIZE=, PIPELINING
 * for MAIL+RCPT (RFC 2920), 8BITMIME, STARTTLS (RFC 3207; tlsremote, pinned
 * tlshosts), AUTH (RFC 4954; docs/patches.md seed 000 README.rauth's five mechanisms), next MX
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
 *   [D] "Connected to IP but it does not offer SMTPUTF8, ...\n553 5.6.7 ...\n" (a message with a
 *       non-ASCII address, RFC 6531 §3.2: no MAIL is sent; the bounce carries 5.6.7)
 * A reply whose first three characters are not digits counts as code 451.
 *
 * This file holds the dialogue's state and its order; the EHLO reply is read
 * in ehlo_capabilities.ts, STARTTLS is decided in client_tls.ts, AUTH runs in
 * client_auth.ts, MAIL and the RCPTs in client_envelope.ts, and reply codes
 * come from reply_code.ts.
 */
import { formatRemoteHostSaid, type RemoteRecord } from "../send/remote_report.ts";
import type { SmtpClientOptions, SmtpMessage } from "./client_options.ts";
import { type ClientResult, type ClientStep, clientStep as step } from "./client_step.ts";
import { type Capabilities, noCapabilities, parseEhloCapabilities } from "./ehlo_capabilities.ts";
import { beginClientAuth, type ClientAuthExchange } from "./client_auth.ts";
import { ClientEnvelope, type EnvelopeVerdict } from "./client_envelope.ts";
import { smtpUtf8Refused } from "./smtputf8.ts";
import { tlsAfterHello, tlsFailedRecord, tlsRefusedRecord } from "./client_tls.ts";
import { replyCode } from "./reply_code.ts";

// The option and step types live beside the session; importers may keep taking them from here.
export type { SmtpClientOptions, SmtpMessage, TlsPolicy } from "./client_options.ts";
export type { ClientResult, ClientStep } from "./client_step.ts";
export type { Capabilities } from "./ehlo_capabilities.ts";

type State =
  /** Before start(), then awaiting the greeting. */
  | { phase: "new" | "greeting" }
  /** EHLO sent; HELO sent after EHLO was refused. */
  | { phase: "ehlo" | "helo" }
  /** STARTTLS sent; its 220 came and the driver owes tlsStarted() or tlsFailed(). */
  | { phase: "starttls" | "tls" }
  /** The AUTH exchange. */
  | { phase: "auth"; exchange: ClientAuthExchange }
  /** RSET sent before another message on this connection. */
  | { phase: "rset" }
  /** MAIL and RCPTs under way. */
  | { phase: "envelope"; envelope: ClientEnvelope }
  /** DATA sent; the body is streaming; the final dot was sent. */
  | { phase: "data" | "body" | "final" }
  /** Finished with a message: idle and reusable, or closed. */
  | { phase: "done" | "closed" };

type Phase = State["phase"];

/** The SMTP client side of one connection; see the module comment for the protocol. */
export class SmtpClientSession {
  readonly #options: SmtpClientOptions;
  #state: State = { phase: "new" };
  #message: SmtpMessage;
  #caps: Capabilities = noCapabilities();
  #tlsActive: boolean;
  #authenticated = false;
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
    this.#state = { phase: "greeting" };
    return step();
  }

  /** One whole server reply (every line, without CRLF). */
  reply(lines: string[]): ClientStep {
    if (lines.length === 0) throw new Error("A reply has at least one line");
    const code = replyCode(lines);
    const state = this.#state;
    switch (state.phase) {
      case "greeting":
        return this.#onGreeting(code, lines);
      case "ehlo":
        return this.#onEhlo(code, lines);
      case "helo":
        if (code !== 250) {
          return this.#fail("Z", `Connected to ${this.#ip} but my name was rejected.\n`, lines);
        }
        this.#caps = noCapabilities();
        return this.#afterHello();
      case "starttls":
        return this.#onStartTls(code, lines);
      case "auth":
        return this.#onAuth(state.exchange, code, lines);
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
        return this.#onEnvelope(state.envelope, lines);
      case "data":
        return this.#onData(code, lines);
      case "final":
        return this.#onFinal(code, lines);
      default:
        throw new Error(`Unexpected server reply in state ${state.phase}`);
    }
  }

  /** The TLS handshake (and, for a pinned host, verification) succeeded: EHLO again (RFC 3207 §4.2). */
  tlsStarted(): ClientStep {
    this.#expect("tls");
    this.#tlsActive = true;
    this.#state = { phase: "ehlo" };
    return step([`EHLO ${this.#options.heloHost}`]);
  }

  /** The TLS handshake or the pinned verification failed: defer, never fall back to plain text. */
  tlsFailed(kind: "handshake" | "verify", reason: string): ClientStep {
    this.#expect("tls");
    const record = tlsFailedRecord(this.#options.tls, this.#ip, kind, reason);
    return this.#finish("failed", false, [record], false);
  }

  /** The body and its final ".\r\n" were written: await the server's verdict. */
  bodySent(): ClientStep {
    this.#expect("body");
    this.#state = { phase: "final" };
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
    if (this.#state.phase === "done" || this.#state.phase === "closed") {
      this.#state = { phase: "closed" };
      this.#reusable = false;
      return step([], { done: { outcome: "failed", records: [], reusable: false } });
    }
    const critical = this.#state.phase === "final" ? "Possible duplicate! " : "";
    const record: RemoteRecord = {
      kind: "Z",
      text: `Connected to ${this.#ip} but connection died. ${critical}(#4.4.2)\n`,
    };
    const stale = this.#reused &&
      (this.#state.phase === "rset" ||
        (this.#state.phase === "envelope" && this.#state.envelope.replyCount === 0));
    return this.#finish(stale ? "stale" : "failed", false, [record], false);
  }

  /** Another message on this idle, reusable connection: RSET, then its envelope. */
  nextMessage(message: SmtpMessage): ClientStep {
    if (this.#state.phase !== "done" || !this.#reusable) {
      throw new Error("The connection cannot be reused");
    }
    if (message.recipients.length === 0) throw new Error("A message needs a recipient");
    this.#message = message;
    this.#records = [];
    this.#reused = true;
    this.#reusable = false;
    this.#state = { phase: "rset" };
    return step(["RSET"]);
  }

  /** The lines that end an idle connection ("QUIT", sent without waiting for the reply). */
  quit(): string[] {
    const open = this.#state.phase !== "closed";
    this.#state = { phase: "closed" };
    this.#reusable = false;
    return open ? ["QUIT"] : [];
  }

  get #ip(): string {
    return this.#options.ip;
  }

  #expect(phase: Phase): void {
    if (this.#state.phase !== phase) {
      throw new Error(`Expected state ${phase}, in ${this.#state.phase}`);
    }
  }

  #finish(
    outcome: ClientResult["outcome"],
    reusable: boolean,
    records: RemoteRecord[],
    sendQuit: boolean,
  ): ClientStep {
    this.#records.push(...records);
    this.#reusable = reusable;
    this.#state = { phase: reusable ? "done" : "closed" };
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
      this.#state = { phase: "ehlo" };
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
      this.#state = { phase: "helo" };
      return step([`HELO ${this.#options.heloHost}`]);
    }
    return this.#fail("Z", `Connected to ${this.#ip} but my name was rejected.\n`, lines);
  }

  /** After EHLO/HELO: STARTTLS, then AUTH, then the envelope. */
  #afterHello(): ClientStep {
    const tls = tlsAfterHello(this.#options.tls, this.#tlsActive, this.#caps.startTls, this.#ip);
    if (tls.kind === "failed") return this.#finish("failed", false, [tls.record], true);
    if (tls.kind === "continue") return this.#afterTls();
    this.#state = { phase: "starttls" };
    return step(["STARTTLS"]);
  }

  #onStartTls(code: number, lines: string[]): ClientStep {
    if (code === 220) {
      this.#state = { phase: "tls" };
      return step([], { startTls: true });
    }
    const refused = tlsRefusedRecord(this.#options.tls, this.#ip, lines);
    if (refused !== undefined) return this.#finish("failed", false, [refused], true);
    return this.#afterTls();
  }

  /** AUTH with the route's credentials when it has some and has not yet, then the envelope. */
  #afterTls(): ClientStep {
    const credentials = this.#options.auth;
    if (credentials === undefined || this.#authenticated) return this.#sendEnvelope();
    const begun = beginClientAuth({
      ip: this.#ip,
      credentials,
      offered: this.#caps.auth,
      tlsActive: this.#tlsActive,
      secAuthRemote: this.#options.secAuthRemote ?? false,
    });
    if (begun.kind === "failed") return this.#finish("failed", false, [begun.record], true);
    this.#state = { phase: "auth", exchange: begun.exchange };
    return step([begun.first.line], { sensitive: begun.first.sensitive });
  }

  #onAuth(exchange: ClientAuthExchange, code: number, lines: string[]): ClientStep {
    const progress = exchange.reply(code, lines);
    switch (progress.kind) {
      case "send":
        return step([progress.next.line], { sensitive: progress.next.sensitive });
      case "accepted":
        this.#authenticated = true;
        return this.#sendEnvelope();
      case "failed":
        return this.#finish("failed", false, [progress.record], true);
    }
  }

  #sendEnvelope(): ClientStep {
    if (this.#message.smtpUtf8 && !this.#caps.smtpUtf8) {
      // Nothing was sent for this message: the connection stays clean for the next one.
      return this.#finish("failed", true, [smtpUtf8Refused(this.#ip)], false);
    }
    const envelope = new ClientEnvelope(this.#message, this.#caps);
    this.#state = { phase: "envelope", envelope };
    return step(envelope.start());
  }

  #onEnvelope(envelope: ClientEnvelope, lines: string[]): ClientStep {
    const progress = envelope.reply(lines);
    switch (progress.kind) {
      case "send":
        return step(progress.lines);
      case "wait":
        return step();
      case "complete":
        return this.#afterEnvelope(envelope.verdict(this.#ip));
    }
  }

  /** DATA once some recipient was accepted; else the message ends here. */
  #afterEnvelope(verdict: EnvelopeVerdict): ClientStep {
    if (verdict.kind === "failed") {
      return this.#finish("failed", verdict.reusable, verdict.records, true);
    }
    this.#records.push(...verdict.records);
    this.#state = { phase: "data" };
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
    this.#state = { phase: "body" };
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
