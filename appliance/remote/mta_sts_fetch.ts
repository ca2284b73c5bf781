/**
 * Fetching a domain's MTA-STS policy (RFC 8461 §3.3): GET
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt over TLS with a certificate
 * that verifies (the system roots plus control/remoteca.pem) and names
 * mta-sts.DOMAIN; only a 200 answer counts (redirects are not followed,
 * §3.3), the body is at most 64 KiB, and the whole fetch has one deadline.
 * The address comes from qmd's own resolver, so the fetch sees the DNS the
 * deliveries see; the connection is remote delivery's client socket.
 */
import { type ClientSocket, connectClient } from "./client_socket.ts";
import { ClientSocketError } from "./open_socket.ts";

/** §3.3 suggests a limit on the policy size; 64 KiB is far above any real policy. */
export const MAX_POLICY_BYTES = 64 * 1024;
/** Headers are bounded too (the status line and headers before the body). */
const MAX_HEADER_BYTES = 16 * 1024;

export interface PolicyFetchOptions {
  /** The addresses of mta-sts.DOMAIN, tried in order. */
  addresses: string[];
  /** Trust anchors (PEM): the system roots plus control/remoteca.pem. */
  ca: string[];
  /** 443; tests use a loopback port. */
  port: number;
  /** The deadline of the whole fetch: connecting, the handshake and every read. */
  timeoutMs: number;
}

export type PolicyFetch = { ok: true; text: string } | { ok: false; reason: string };

/** The policy file of `domain`, or why it could not be fetched. */
export async function fetchStsPolicyText(
  domain: string,
  options: PolicyFetchOptions,
): Promise<PolicyFetch> {
  const host = `mta-sts.${domain}`;
  let last = `no address for ${host}`;
  // One deadline for everything, so a server sending a byte at a time cannot hold a delivery.
  const deadline = Date.now() + options.timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  for (const ip of options.addresses) {
    let socket: ClientSocket | undefined;
    try {
      socket = await connectClient({ ip, port: options.port, timeoutMs: left() });
      await socket.startTls({
        servername: host,
        timeoutMs: left(),
        verify: { ca: options.ca, mode: "require" },
      });
      await socket.write(
        `GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: qmd\r\n` +
          "Accept: text/plain\r\nConnection: close\r\n\r\n",
        left(),
      );
      return await readResponse(socket, left);
    } catch (error) {
      if (!(error instanceof ClientSocketError)) throw error;
      last = `https://${host}/ (${ip}): ${error.message}`;
    } finally {
      socket?.destroy();
    }
  }
  return { ok: false, reason: last };
}

/** Reads the whole answer (status line, headers, body) within the limits. */
async function readResponse(socket: ClientSocket, left: () => number): Promise<PolicyFetch> {
  let received = new Uint8Array(0);
  let headerEnd = -1;
  for (;;) {
    const chunk = await socket.readSome(left());
    if (chunk === undefined) break;
    const joined = new Uint8Array(received.length + chunk.length);
    joined.set(received);
    joined.set(chunk, received.length);
    received = joined;
    if (headerEnd < 0) {
      headerEnd = findHeaderEnd(received);
      if (headerEnd < 0 && received.length > MAX_HEADER_BYTES) {
        return { ok: false, reason: "HTTP headers too long" };
      }
    }
    if (headerEnd >= 0 && received.length - headerEnd > MAX_POLICY_BYTES + 64) {
      return { ok: false, reason: `policy larger than ${MAX_POLICY_BYTES} bytes` };
    }
  }
  if (headerEnd < 0) return { ok: false, reason: "incomplete HTTP answer" };
  return parseResponse(received, headerEnd);
}

function findHeaderEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i + 4;
    }
  }
  return -1;
}

/** The status must be 200 and the type text/plain (§3.3); chunked bodies are joined. */
export function parseResponse(bytes: Uint8Array, headerEnd: number): PolicyFetch {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, headerEnd - 4)).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "");
  if (status === null) return { ok: false, reason: "not an HTTP answer" };
  if (status[1] !== "200") return { ok: false, reason: `HTTP status ${status[1]}` };
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  const type = headers.get("content-type") ?? "";
  if (!/^text\/plain\s*(;|$)/i.test(type)) {
    return { ok: false, reason: `content type ${JSON.stringify(type)} is not text/plain` };
  }
  let body = bytes.subarray(headerEnd);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    const joined = dechunk(body);
    if (joined === undefined) return { ok: false, reason: "malformed chunked body" };
    body = joined;
  } else if (headers.has("content-length")) {
    const length = Number(headers.get("content-length"));
    if (!Number.isInteger(length) || length < 0 || body.length < length) {
      return { ok: false, reason: "body shorter than its Content-Length" };
    }
    body = body.subarray(0, length);
  }
  if (body.length > MAX_POLICY_BYTES) {
    return { ok: false, reason: `policy larger than ${MAX_POLICY_BYTES} bytes` };
  }
  return { ok: true, text: new TextDecoder().decode(body) };
}

/** RFC 9112 §7.1 chunked coding: size lines in hex, each chunk then CRLF, 0 at the end. */
function dechunk(bytes: Uint8Array): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (let count = 0; count < 10_000; count++) {
    let lineEnd = -1;
    for (let i = offset; i + 1 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10) {
        lineEnd = i;
        break;
      }
    }
    if (lineEnd < 0) return undefined;
    const sizeText = new TextDecoder().decode(bytes.subarray(offset, lineEnd)).split(";")[0];
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText.trim())) return undefined;
    const size = parseInt(sizeText, 16);
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size > bytes.length) return undefined;
    parts.push(bytes.subarray(offset, offset + size));
    offset += size + 2;
  }
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}
