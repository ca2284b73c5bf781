/**
 * A fake mail exchanger for tests, built on nodemailer's smtp-server (an
 * independent SMTP implementation): it listens on a loopback address, answers
 * chosen codes at the greeting, MAIL, RCPT and end of DATA, offers STARTTLS
 * with a given certificate and AUTH for one user when asked, and records what
 * it received. Test only.
 */
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** One SMTP reply the fake gives instead of its default. */
export interface FakeReply {
  code: number;
  text?: string;
}

/**
 * An answer for one stage: a fixed reply, a list used in turn (the last one
 * repeats), or a function of the address (undefined = the default success).
 * Success codes (< 400) mean "accept" with smtp-server's own text.
 */
export type FakeAnswer =
  | FakeReply
  | FakeReply[]
  | ((value: string, count: number) => FakeReply | undefined);

export interface FakeMxOptions {
  /** A 127.0.0.0/8 address; default 127.0.0.1. */
  host?: string;
  /** Default 0 (the kernel picks). */
  port?: number;
  /** Host name in the greeting; default "fake.mx.test". */
  name?: string;
  greeting?: FakeAnswer;
  mail?: FakeAnswer;
  rcpt?: FakeAnswer;
  /** The reply after the final dot. */
  data?: FakeAnswer;
  /** Offer STARTTLS with this certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Offer AUTH (PLAIN, LOGIN, CRAM-MD5) for this user and require it for MAIL. */
  auth?: { user: string; password: string };
  /** Advertise SIZE with this limit. */
  size?: number;
  /** Offer SMTPUTF8 (RFC 6531); default true, as smtp-server does. */
  smtpUtf8?: boolean;
  /** Bodies longer than this are recorded by size and hash only (default 1 MiB). */
  keepBytes?: number;
}

/** One message the fake accepted or refused after DATA. */
export interface FakeMessage {
  /** The connection it came over (1, 2, ...). */
  connection: number;
  sender: string;
  recipients: string[];
  /** The body as received (CRLF lines, dots unstuffed), up to keepBytes. */
  body: Uint8Array;
  size: number;
  sha256: string;
  tls: boolean;
  user?: string;
  /** MAIL FROM carried SMTPUTF8. */
  smtpUtf8: boolean;
  /** The code the fake answered after the final dot. */
  code: number;
}

export interface FakeMx {
  readonly host: string;
  readonly port: number;
  /** Messages that reached the end of DATA (accepted or not). */
  readonly messages: FakeMessage[];
  /** Connections opened so far. */
  connections(): number;
  /** Every MAIL FROM seen, in order. */
  readonly mailFrom: string[];
  /** The parameters of every MAIL FROM (SIZE, BODY, ...: upper-case names), in order. */
  readonly mailParams: Record<string, string | true>[];
  /** Every RCPT TO seen, in order. */
  readonly rcptTo: string[];
  close(): Promise<void>;
}

function pick(answer: FakeAnswer | undefined, value: string, count: number): FakeReply | undefined {
  if (answer === undefined) return undefined;
  if (typeof answer === "function") return answer(value, count);
  if (Array.isArray(answer)) return answer[Math.min(count, answer.length - 1)];
  return answer;
}

function replyError(reply: FakeReply | undefined): Error | null {
  if (reply === undefined || reply.code < 400) return null;
  return Object.assign(new Error(reply.text ?? `fake reply ${reply.code}`), {
    responseCode: reply.code,
  });
}

export async function startFakeMx(options: FakeMxOptions = {}): Promise<FakeMx> {
  const host = options.host ?? "127.0.0.1";
  if (!host.startsWith("127.")) throw new Error("The fake MX listens on 127.0.0.0/8 only");
  const keepBytes = options.keepBytes ?? 1024 * 1024;
  const messages: FakeMessage[] = [];
  const mailFrom: string[] = [];
  const mailParams: Record<string, string | true>[] = [];
  const rcptTo: string[] = [];
  let connectionCount = 0;
  let dataCount = 0;
  const connectionOf = new Map<string, number>();
  const disabled: string[] = [];
  if (!options.tls) disabled.push("STARTTLS");
  if (!options.auth) disabled.push("AUTH");

  const server = new SMTPServer({
    name: options.name ?? "fake.mx.test",
    logger: false,
    disableReverseLookup: true,
    disabledCommands: disabled,
    authOptional: options.auth === undefined,
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN", "CRAM-MD5"],
    closeTimeout: 200,
    size: options.size,
    hideSMTPUTF8: options.smtpUtf8 === false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    onConnect(session, callback) {
      connectionCount++;
      connectionOf.set(session.id, connectionCount);
      callback(replyError(pick(options.greeting, session.remoteAddress, connectionCount - 1)));
    },
    onAuth(auth, _session, callback) {
      const wanted = options.auth!;
      const ok = auth.username === wanted.user &&
        (auth.method === "CRAM-MD5"
          ? auth.validatePassword(wanted.password)
          : auth.password === wanted.password);
      if (!ok) return callback(new Error("Invalid username or password"));
      callback(null, { user: auth.username });
    },
    onMailFrom(address, _session, callback) {
      const count = mailFrom.length;
      mailFrom.push(address.address);
      mailParams.push({ ...(address.args || {}) } as Record<string, string | true>);
      callback(replyError(pick(options.mail, address.address, count)));
    },
    onRcptTo(address, _session, callback) {
      const count = rcptTo.length;
      rcptTo.push(address.address);
      callback(replyError(pick(options.rcpt, address.address, count)));
    },
    onData(stream, session, callback) {
      const hash = createHash("sha256");
      const kept: Uint8Array[] = [];
      let size = 0;
      stream.on("data", (chunk: Uint8Array) => {
        hash.update(chunk);
        if (size < keepBytes) kept.push(chunk.slice(0, keepBytes - size));
        size += chunk.length;
      });
      stream.on("end", () => {
        const reply = pick(options.data, "", dataCount++);
        const body = new Uint8Array(Math.min(size, keepBytes));
        let offset = 0;
        for (const part of kept) {
          body.set(part, offset);
          offset += part.length;
        }
        messages.push({
          connection: connectionOf.get(session.id) ?? 0,
          sender: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          recipients: session.envelope.rcptTo.map((r) => r.address),
          body,
          size,
          sha256: hash.digest("hex"),
          tls: session.secure,
          user: session.user as string | undefined,
          smtpUtf8: session.envelope.smtpUtf8 === true,
          code: reply?.code ?? 250,
        });
        const error = replyError(reply);
        if (error) callback(error);
        else callback(null, reply?.text ?? "ok fake");
      });
    },
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    host,
    port,
    messages,
    mailFrom,
    mailParams,
    rcptTo,
    connections: () => connectionCount,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
