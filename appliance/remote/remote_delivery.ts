/**
 * qmail-remote as I/O (qmail-formats.md §5.8): route, canonical name, MX/A
 * host list, self-MX rule, tcpto, connection (local bind from outgoingip/
 * senderip/bindroutes), the SMTP dialogue, the body streamed from mess/ in
 * bounded chunks, and the report as qmail-rspawn makes it (§5.7).
 * Connections are reused through the ConnectionPool (RSET between messages),
 * beyond qmail.
 *
 * The whole SMTP dialogue (greeting, EHLO/HELO, STARTTLS with tlshosts pins,
 * AUTH, MAIL/RCPT pipelined when offered, DATA, the reply after the body, RSET
 * for reuse, QUIT) and its texts are appliance/smtp/client.ts's
 * SmtpClientSession; this driver owns the socket, the TLS upgrade, the body
 * stream, the pool and the session log. Session outcomes: delivered/failed →
 * its records; next-mx (4xx/5xx greeting, seed 002) → the next address, its
 * records reported if no later address takes the message; stale (a reused
 * connection failed before anything was attempted) → once more on a fresh
 * connection. qmtproutes go through appliance/net/qmtp_client.ts instead.
 *
 * BATV (seed 001): with control/signkey set, the envelope sender is signed
 * (prvs=, appliance/send/batv.ts) for SMTP and QMTP unless nosignhosts/
 * nosignmydoms say otherwise. Routes and the local bind use the unsigned one.
 *
 * The other texts come from appliance/send/remote_report.ts (REMOTE_TEXTS,
 * formatRemoteReport).
 */
import {
  findLocalBind,
  findRoute,
  loadRemoteControls,
  type LocalBind,
  type RemoteControls,
  type Route,
} from "../../config/remote.ts";
import { readControlLine } from "../../config/control.ts";
import { parseAddressLiteral, Resolver } from "../dns/resolver.ts";
import type { DeliveryJob, DeliveryReport } from "../ipc.ts";
import { logEvent } from "../log.ts";
import { type QueueLayout, queueLayoutFor } from "../queue/layout.ts";
import { buildIpMe } from "./ipme.ts";
import { isDead, recordAttempt } from "./tcpto.ts";
import { batvDay, shouldSign, signSender } from "../send/batv.ts";
import {
  formatRemoteReport,
  hostNotFoundRecord,
  REMOTE_TEXTS,
  type RemoteRecord,
} from "../send/remote_report.ts";
import {
  type ClientResult,
  type ClientStep,
  SmtpClientSession,
  type SmtpMessage,
} from "../smtp/client.ts";
import {
  type ClientSocket,
  ClientSocketError,
  connectClient,
  type ConnectionPool,
  type Poolable,
  poolKey,
} from "./connection_pool.ts";
import { deliverQmtp } from "./qmtp_client.ts";

// --- The driver ---

/** The tcpto table as the driver uses it (appliance/queue/tcpto.ts behind it, §5.9). */
export interface TcptoTable {
  isDead(ip: string): Promise<boolean>;
  /** After a connection attempt: timedOut false = success or a non-timeout failure. */
  record(ip: string, timedOut: boolean): Promise<void>;
}

/** The tcpto table in queue/lock/tcpto (§5.9); pid is qmail-remote's for the dead window. */
/**
 * Everything a delivery needs, from the home's controls: the routes and
 * limits, the resolver (control/dnsservers), the tcpto table and ipme.
 */
export function buildRemoteContext(
  home: string,
  pool: ConnectionPool<SmtpConnection>,
): RemoteContext {
  const controls = loadRemoteControls(home);
  const layout = queueLayoutFor(home);
  const logFd = readControlLine(home, "log/remote_fd")?.trim();
  return {
    home,
    layout,
    controls,
    resolver: new Resolver({ home }),
    tcpto: tcptoFile(`${layout.root}/lock/tcpto`, () => Math.floor(Date.now() / 1000), Deno.pid),
    ipme: buildIpMe({ moreIpMe: controls.moreIpMe, notIpMe: controls.notIpMe }),
    pool,
    now: () => Date.now(),
    random: Math.random,
    logSession: logFd !== undefined && logFd !== "" && logFd !== "0",
  };
}

/**
 * The tcpto table for one remote isolate. Its deliveries take turns with the
 * file (so the flock is never contended inside the isolate, which would cost
 * a thread per wait), and an address just found alive is not looked up again
 * within the same second; recording an attempt for it forgets that.
 */
export function tcptoFile(path: string, nowSeconds: () => number, pid: number): TcptoTable {
  let turn: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = turn.then(work, work);
    turn = next.catch(() => {});
    return next;
  };
  const aliveUntil = new Map<string, number>();
  return {
    async isDead(ip) {
      const now = nowSeconds();
      if ((aliveUntil.get(ip) ?? 0) > now) return false;
      const dead = await serial(() => isDead(path, ip, now, pid));
      if (!dead) {
        if (aliveUntil.size > 10_000) aliveUntil.clear();
        aliveUntil.set(ip, now + 1);
      }
      return dead;
    },
    record(ip, timedOut) {
      aliveUntil.delete(ip);
      return serial(() => recordAttempt(path, ip, timedOut ? "timeout" : "ok", nowSeconds()));
    },
  };
}

/** Addresses of this machine (appliance/net/ipme.ts behind it). */
export interface IpMe {
  isMe(ip: string): boolean;
}

export interface RemoteContext {
  home: string;
  layout: QueueLayout;
  controls: RemoteControls;
  resolver: Resolver;
  tcpto: TcptoTable;
  ipme: IpMe;
  pool: ConnectionPool<SmtpConnection>;
  /** Unix ms: the BATV day (tcpto has its own clock). */
  now: () => number;
  /** [0, 1) for shuffling equal MX preferences. */
  random: () => number;
  /** control/log/remote_fd: log the session (commands and replies; never DATA or AUTH). */
  logSession?: boolean;
}

/** One eligible address with the host name it came from (for tlshosts). */
export interface Target {
  ip: string;
  host: string;
  preference: number;
}

/** Sorts MX hosts by preference, shuffling equal preferences (§5.8 step 4). */
export function orderMxHosts<T extends { preference: number }>(
  hosts: T[],
  random: () => number,
): T[] {
  const keyed = hosts.map((host) => ({ host, key: random() }));
  keyed.sort((a, b) => a.host.preference - b.host.preference || a.key - b.key);
  return keyed.map((entry) => entry.host);
}

type HostList = { ok: true; targets: Target[]; prefme: number } | {
  ok: false;
  record: RemoteRecord;
};

async function findTargets(
  domain: string,
  route: Route,
  ctx: RemoteContext,
): Promise<HostList> {
  let host = domain;
  /** qmail-remote sets prefme to 300000 (relay) or 500000 (all aliases) after its ipme loop. */
  let prefmeOverride: number | undefined;
  if (route.relay !== undefined) {
    host = route.relay;
    prefmeOverride = 300000;
  } else {
    const canonical = await ctx.resolver.cname(domain);
    if (!canonical.ok) {
      if (canonical.temporary) return { ok: false, record: REMOTE_TEXTS.cnameTemporary };
    } else if (canonical.value !== domain.toLowerCase().replace(/\.$/, "")) {
      host = canonical.value;
      prefmeOverride = 500000; // every recipient's domain was a CNAME (§5.8 step 5)
    }
  }
  const literal = parseAddressLiteral(host);
  let candidates: Target[] = [];
  if (literal !== undefined) {
    candidates = [{ ip: literal, host: literal, preference: 0 }];
  } else if (route.relay !== undefined) {
    const found = await ctx.resolver.addresses(host);
    if (!found.ok) {
      return {
        ok: false,
        record: found.temporary ? REMOTE_TEXTS.dnsTemporary : hostNotFoundRecord(host),
      };
    }
    candidates = found.value.map((ip) => ({ ip, host, preference: 0 }));
  } else {
    const mx = await ctx.resolver.mx(host);
    if (!mx.ok) {
      return {
        ok: false,
        record: mx.temporary ? REMOTE_TEXTS.dnsTemporary : hostNotFoundRecord(host),
      };
    }
    if (mx.value === "null") return { ok: false, record: REMOTE_TEXTS.noMxOrIp };
    const exchanges = mx.value === "none"
      ? [{ preference: 0, exchange: host }]
      : orderMxHosts(mx.value, ctx.random);
    let temporary = false;
    let missing = false;
    for (const exchange of exchanges) {
      const found = await ctx.resolver.addresses(exchange.exchange);
      if (!found.ok) {
        if (found.temporary) temporary = true;
        else missing = true;
        continue;
      }
      for (const ip of found.value) {
        candidates.push({ ip, host: exchange.exchange, preference: exchange.preference });
      }
    }
    if (candidates.length === 0) {
      if (temporary) return { ok: false, record: REMOTE_TEXTS.dnsTemporary };
      if (missing && mx.value === "none") return { ok: false, record: hostNotFoundRecord(host) };
    }
  }
  if (candidates.length === 0) return { ok: false, record: REMOTE_TEXTS.noMxOrIp };
  // §5.8 step 5, in qmail-remote's order: the lowest preference of an address
  // that is this host, then the relay and alias overrides, so a smart host on
  // this machine (smtproutes :127.0.0.1:3025) stays eligible.
  let prefme = 100000;
  for (const candidate of candidates) {
    if (ctx.ipme.isMe(candidate.ip) && candidate.preference < prefme) {
      prefme = candidate.preference;
    }
  }
  if (prefmeOverride !== undefined) prefme = prefmeOverride;
  const targets = candidates.filter((candidate) => candidate.preference < prefme);
  if (targets.length === 0) return { ok: false, record: REMOTE_TEXTS.selfMx };
  return { ok: true, targets, prefme };
}

/**
 * One remote delivery (one recipient, as qmail-rspawn runs qmail-remote):
 * the report qmail-rspawn would send to qmail-send.
 */
export async function deliverRemote(job: DeliveryJob, ctx: RemoteContext): Promise<DeliveryReport> {
  const records = await deliverRecords(job, ctx);
  const { status, text } = formatRemoteReport(records);
  return { delivery: job.delivery, status, text };
}

/**
 * The envelope sender as sent: BATV-signed (seed 001 signkey) when a signkey
 * is set and shouldSign() allows it for this recipient domain, valid until
 * today + signkeystale days; otherwise unchanged.
 */
export function envelopeSender(
  sender: string,
  recipientDomain: string,
  controls: RemoteControls,
  nowMs: number,
): string {
  if (controls.signKey === null || !shouldSign(sender, recipientDomain, controls)) return sender;
  return signSender(sender, controls.signKey, batvDay(nowMs) + controls.signKeyStale);
}

/** The qmail-remote records (r/h/s then K/Z/D) for one job. */
export async function deliverRecords(
  job: DeliveryJob,
  ctx: RemoteContext,
): Promise<RemoteRecord[]> {
  const at = job.recipient.lastIndexOf("@");
  const domain = at >= 0 ? job.recipient.slice(at + 1) : "";
  const helo = ctx.controls.helohost;
  if (helo === null) return [REMOTE_TEXTS.noControls];
  const route = findRoute(ctx.controls, domain, job.sender);
  const first = await deliverByRoute(job, domain, route, helo, ctx);
  // The fallback (seed 001): the default smtproutes entry ":relay" takes the
  // message when a more specific route could not be reached, and with
  // straightfallback also after a temporary failure.
  const fallback = fallbackRoute(ctx.controls, route);
  if (fallback === undefined) return first.records;
  const temporary = formatRemoteReport(first.records).status === "Z";
  if (first.unreached || (temporary && ctx.controls.straightFallback)) {
    return (await deliverByRoute(job, domain, fallback, helo, ctx)).records;
  }
  return first.records;
}

/** smtproutes' default entry as a route, unless it is the route already taken. */
function fallbackRoute(controls: RemoteControls, taken: Route): Route | undefined {
  const entry = controls.smtproutes.find((candidate) => candidate.key === "");
  if (entry === undefined || entry.relay === "") return undefined;
  if (taken.relay === entry.relay && taken.port === entry.port) return undefined;
  return {
    kind: "smtp",
    relay: entry.relay,
    port: entry.port,
    ...(entry.auth ? { auth: entry.auth } : {}),
    source: "smtproutes",
  };
}

/** One route's attempt; `unreached` when no host of it could be connected to. */
async function deliverByRoute(
  job: DeliveryJob,
  domain: string,
  route: Route,
  helo: string,
  ctx: RemoteContext,
): Promise<{ records: RemoteRecord[]; unreached: boolean }> {
  const list = await findTargets(domain, route, ctx);
  if (!list.ok) return { records: [list.record], unreached: false };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${ctx.layout.root}/mess/${job.mess}`, { read: true });
  } catch {
    return { records: [REMOTE_TEXTS.unreadable], unreached: false };
  }
  try {
    const size = (await file.stat()).size;
    const message: OutgoingMessage = {
      job,
      sender: envelopeSender(job.sender, domain, ctx.controls, ctx.now()),
      file,
      size,
    };
    // The records of the last host that greeted with 4xx/5xx (seed 002), reported
    // when no later host takes the message.
    let greetingFailed: RemoteRecord[] | undefined;
    for (const target of list.targets) {
      if (await ctx.tcpto.isDead(target.ip)) continue;
      const result = route.kind === "qmtp"
        ? await tryQmtpTarget(target, route, message, ctx)
        : await tryTarget(target, route, message, helo, ctx);
      if (result === "next") continue;
      if (result.nextMx) {
        greetingFailed = result.records;
        continue;
      }
      return { records: result.records, unreached: false };
    }
    return greetingFailed === undefined
      ? { records: [REMOTE_TEXTS.noConnection], unreached: true }
      : { records: greetingFailed, unreached: false };
  } finally {
    file.close();
  }
}

interface OutgoingMessage {
  job: DeliveryJob;
  /** The envelope sender as sent (BATV-signed when configured). */
  sender: string;
  file: Deno.FsFile;
  size: number;
}

/** One host's result: "next" = not connected; nextMx = greeting 4xx/5xx (seed 002). */
type TargetResult = "next" | { records: RemoteRecord[]; nextMx: boolean };

function readPem(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function bindAddress(bind: LocalBind): string | undefined {
  return bind.kind === "bind" && bind.ip !== "0.0.0.0" ? bind.ip : undefined;
}

function bindFailed(bind: LocalBind): RemoteRecord {
  return { kind: "Z", text: `Unable to bind to ${bind.kind === "bind" ? bind.ip : ""}.\n` };
}

/** QMTP to one address (qmtproutes): appliance/net/qmtp_client.ts. */
async function tryQmtpTarget(
  target: Target,
  route: Route,
  message: OutgoingMessage,
  ctx: RemoteContext,
): Promise<TargetResult> {
  const { ip } = target;
  const bind = findLocalBind(ctx.controls, message.job.sender, ip);
  if (bind.kind === "refuse") return "next";
  const slot = await ctx.pool.acquire(`${ip}:${route.port}`);
  try {
    const outcome = await deliverQmtp({
      ip,
      port: route.port,
      localAddress: bindAddress(bind),
      connectTimeoutMs: ctx.controls.timeoutConnect * 1000,
      timeoutMs: ctx.controls.timeoutRemote * 1000,
      file: message.file,
      size: message.size,
      sender: message.sender,
      recipients: [message.job.recipient],
    });
    if (outcome.kind === "unconnected") {
      if (outcome.failure === "bind") return { records: [bindFailed(bind)], nextMx: false };
      await ctx.tcpto.record(ip, outcome.failure === "timeout");
      return "next";
    }
    await ctx.tcpto.record(ip, false);
    return { records: outcome.records, nextMx: false };
  } finally {
    slot.release();
  }
}

/** The tlshosts pin of a host (seed 001): the file name used in texts and its PEM. */
interface TlsPin {
  file: string;
  pem: string;
}

/** SMTP to one address: a pooled connection when one is idle, else a fresh one. */
async function tryTarget(
  target: Target,
  route: Route,
  message: OutgoingMessage,
  helo: string,
  ctx: RemoteContext,
): Promise<TargetResult> {
  const { ip } = target;
  const bind = findLocalBind(ctx.controls, message.job.sender, ip);
  if (bind.kind === "refuse") return "next";
  const pinFile = `control/tlshosts/${target.host}.pem`;
  const pem = readPem(`${ctx.home}/${pinFile}`);
  const pin: TlsPin | undefined = pem === undefined ? undefined : { file: pinFile, pem };
  const tlsWanted = ctx.controls.tlsRemote || pin !== undefined;
  const key = poolKey(ip, route.port, tlsWanted, route.auth?.user);
  const envelope: SmtpMessage = {
    sender: message.sender,
    recipients: [message.job.recipient],
    size: message.size,
  };
  const slot = await ctx.pool.acquire(`${ip}:${route.port}`);
  try {
    const reused = ctx.pool.take(key);
    if (reused !== undefined) {
      const result = await runDialogue(
        reused,
        reused.session.nextMessage(envelope),
        message,
        target,
        pin,
        ctx,
      );
      // stale: nothing was attempted on the reused connection; once more on a fresh one.
      if (result.outcome !== "stale") return finish(reused, key, result, ctx);
      reused.socket.destroy();
    }
    let socket: ClientSocket;
    try {
      socket = await connectClient({
        ip,
        port: route.port,
        localAddress: bindAddress(bind),
        timeoutMs: ctx.controls.timeoutConnect * 1000,
      });
    } catch (error) {
      const kind = error instanceof ClientSocketError ? error.kind : "other";
      if (kind === "bind") return { records: [bindFailed(bind)], nextMx: false };
      await ctx.tcpto.record(ip, kind === "timeout");
      return "next";
    }
    await ctx.tcpto.record(ip, false);
    const session = new SmtpClientSession({
      ip,
      heloHost: helo,
      tls: pin !== undefined
        ? { mode: "required", pinFile: pin.file }
        : ctx.controls.tlsRemote
        ? { mode: "opportunistic" }
        : { mode: "off" },
      auth: route.auth,
      secAuthRemote: ctx.controls.secAuthRemote,
      message: envelope,
    });
    const connection = new SmtpConnection(socket, session, ctx.controls.timeoutRemote * 1000, ctx);
    const result = await runDialogue(connection, session.start(), message, target, pin, ctx);
    return finish(connection, key, result, ctx);
  } finally {
    slot.release();
  }
}

/** Parks a reusable connection, closes the others; the records for the caller. */
function finish(
  connection: SmtpConnection,
  key: string,
  result: ClientResult,
  ctx: RemoteContext,
): TargetResult {
  if (result.reusable) ctx.pool.put(key, connection);
  else connection.retire();
  return { records: result.records, nextMx: result.outcome === "next-mx" };
}

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

/** More steps than any dialogue needs (greeting, EHLO twice, TLS, AUTH, envelope, DATA). */
const MAX_STEPS = 64;

/**
 * Drives the session from `first` to its result (the protocol at the top of
 * appliance/smtp/client.ts): writes its lines, reads whole replies, does the
 * STARTTLS upgrade and streams the body when asked. Socket failures and
 * timeouts become session.connectionLost().
 */
async function runDialogue(
  connection: SmtpConnection,
  first: ClientStep,
  message: OutgoingMessage,
  target: Target,
  pin: TlsPin | undefined,
  ctx: RemoteContext,
): Promise<ClientResult> {
  const session = connection.session;
  let step = first;
  for (let count = 0; count < MAX_STEPS; count++) {
    if (step.done !== undefined) {
      // "QUIT" after a failure: sent without waiting for the reply (qmail).
      if (step.send.length > 0) await connection.send(step.send, step.sensitive).catch(() => {});
      return step.done;
    }
    try {
      if (step.send.length > 0) await connection.send(step.send, step.sensitive);
      if (step.startTls) {
        step = await upgrade(connection, target, pin, ctx);
      } else if (step.streamBody) {
        await message.file.seek(0, Deno.SeekMode.Start);
        const sent = await streamBody(
          message.file,
          (bytes) => connection.socket.write(bytes, connection.timeoutMs),
        );
        step = sent === "sent" ? session.bodySent() : session.bodyFailed(sent);
      } else {
        step = session.reply(await connection.reply());
      }
    } catch (error) {
      if (!(error instanceof ClientSocketError)) throw error;
      step = session.connectionLost();
    }
  }
  connection.socket.destroy();
  throw new Error(`SMTP dialogue with ${connection.ip} did not finish`);
}

/** The client side of STARTTLS (RFC 3207) with the tlshosts pin when there is one. */
async function upgrade(
  connection: SmtpConnection,
  target: Target,
  pin: TlsPin | undefined,
  ctx: RemoteContext,
): Promise<ClientStep> {
  const cert = readPem(`${ctx.home}/control/clientcert.pem`);
  try {
    await connection.socket.startTls({
      servername: target.host,
      ca: pin?.pem,
      cert,
      key: cert,
      ciphers: ctx.controls.tlsClientCiphers ?? undefined,
      timeoutMs: connection.timeoutMs,
    });
  } catch (error) {
    if (!(error instanceof ClientSocketError)) throw error;
    const reason = error.message.replace(/\.$/, "");
    return connection.session.tlsFailed(
      pin !== undefined && isVerifyFailure(error) ? "verify" : "handshake",
      reason,
    );
  }
  return connection.session.tlsStarted();
}

/** Whether a TLS failure is the pinned certificate's verification (not the handshake itself). */
function isVerifyFailure(error: ClientSocketError): boolean {
  const code = String((error.cause as { code?: unknown } | undefined)?.code ?? "");
  return /CERT|VERIFY|SELF_SIGNED|ALTNAME|ISSUER/.test(code) ||
    /certificate|verif|self[- ]signed|altname/i.test(error.message);
}

// --- The body (§5.8 step 7) ---

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** Default read size: 64 KiB in, at most twice that out. */
export const DATA_CHUNK = 64 * 1024;

/**
 * Stateful line-end and dot-stuffing encoder (pure). RFC 5321 §2.3.8: a
 * client sends CR and LF only as CRLF, so no receiver, not even one that ends
 * lines at a bare CR or a bare LF, can read an end of data before ours:
 *
 * - LF becomes CRLF, as qmail-remote does (§5.8 step 7);
 * - CR LF in the queued message is one line end, sent as CRLF (notqmail's
 *   qmail-remote no longer sends CR CR LF);
 * - a lone CR (qmail-smtpd keeps one) is a line end too, sent as CRLF, as
 *   notqmail sends it; qmail 1.03 sent it as it was;
 * - a "." that starts a line, after any of these line ends, is doubled
 *   (notqmail does not double it after a lone CR, so `\r.\r` would still end
 *   the data there).
 *
 * A message without CR is sent byte for byte as before.
 */
export class DataEncoder {
  #atLineStart = true;
  #empty = true;
  /** The previous chunk ended in a CR, already sent as CRLF: an LF first in this one belongs to it. */
  #afterCr = false;

  /** Encodes one chunk of the message. */
  push(chunk: Uint8Array): Uint8Array {
    if (chunk.length === 0) return chunk;
    this.#empty = false;
    // Worst case every byte is CR, LF or a line-leading ".": twice the input.
    const out = new Uint8Array(chunk.length * 2);
    let o = 0;
    let start = this.#afterCr && chunk[0] === LF ? 1 : 0;
    this.#afterCr = false;
    let atLineStart = this.#atLineStart;
    // The next LF and CR at or after `start` (-1: none left), each searched for again only once passed.
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (start < chunk.length) {
      if (atLineStart && chunk[start] === DOT) out[o++] = DOT;
      if (lf >= 0 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr >= 0 && cr < start) cr = chunk.indexOf(CR, start);
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (end < 0) {
        out.set(chunk.subarray(start), o);
        o += chunk.length - start;
        atLineStart = false;
        break;
      }
      out.set(chunk.subarray(start, end), o);
      o += end - start;
      out[o++] = CR;
      out[o++] = LF;
      atLineStart = true;
      start = end + 1;
      if (end === cr) {
        if (start === chunk.length) this.#afterCr = true;
        else if (chunk[start] === LF) start++;
      }
    }
    this.#atLineStart = atLineStart;
    return out.subarray(0, o);
  }

  /** Whether the message ended inside a line, without LF or CR (qmail: #5.6.2 permanent failure). */
  get partialFinalLine(): boolean {
    return !this.#empty && !this.#atLineStart;
  }
}

/** The terminating ".\r\n". */
export const DATA_END = new Uint8Array([DOT, CR, LF]);

export type BodyResult = "sent" | "partial" | "unreadable";

/**
 * Streams a message from an open file through the encoder to `write`,
 * one bounded chunk at a time, and sends the final dot. Write errors
 * propagate (the connection died); read errors give "unreadable"; a last line
 * without LF gives "partial" and the final dot is NOT sent (qmail quits).
 */
export async function streamBody(
  file: Deno.FsFile,
  write: (bytes: Uint8Array) => Promise<void>,
  chunkSize = DATA_CHUNK,
): Promise<BodyResult> {
  const encoder = new DataEncoder();
  const buffer = new Uint8Array(chunkSize);
  // Each chunk is written when the next one is read, so the last one goes out
  // together with the final dot: one write for a small message.
  let pending: Uint8Array | undefined;
  for (;;) {
    let count: number | null;
    try {
      count = await file.read(buffer);
    } catch {
      return "unreadable";
    }
    if (count === null) break;
    if (count === 0) continue;
    if (pending !== undefined) await write(pending);
    pending = encoder.push(buffer.subarray(0, count));
  }
  if (encoder.partialFinalLine) return "partial";
  if (pending === undefined) {
    await write(DATA_END);
  } else {
    const last = new Uint8Array(pending.length + DATA_END.length);
    last.set(pending);
    last.set(DATA_END, pending.length);
    await write(last);
  }
  return "sent";
}
