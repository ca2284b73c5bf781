/**
 * The client side of SMTP AUTH to a smart host (RFC 4954; docs/patches.md seed 000
 * README.rauth, seed 001 secauthremote): the mechanism to use, and the
 * exchange that answers the server's 334 challenges through a SASL client
 * (auth/sasl_client.ts), ending in 235 or a Z/D record.
 */
import { SaslClient, SaslClientError } from "../auth/sasl_client.ts";
import type { MechanismName } from "../auth/mechanisms.ts";
import { formatRemoteHostSaid, type RemoteRecord } from "../send/remote_report.ts";

/** RFC 4954 preference when the route names no mechanism (brief: strongest first). */
export const AUTH_PREFERENCE = ["CRAM-RIPEMD", "CRAM-SHA1", "CRAM-MD5", "PLAIN", "LOGIN"] as const;

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

/** A command line of the exchange; `sensitive` when it carries credentials. */
export interface AuthLine {
  line: string;
  sensitive: boolean;
}

/** How AUTH begins: with a first line to send, or not at all (a Z record). */
export type ClientAuthStart =
  | { kind: "started"; exchange: ClientAuthExchange; first: AuthLine }
  | { kind: "failed"; record: RemoteRecord };

/** Where the exchange stands after a server reply. */
export type ClientAuthProgress =
  | { kind: "send"; next: AuthLine }
  /** 2xx: authenticated. */
  | { kind: "accepted" }
  /** AUTH failed: the record ends the message. */
  | { kind: "failed"; record: RemoteRecord };

/** What AUTH needs to know of the route and the connection. */
export interface ClientAuthContext {
  /** The server's address, for the texts. */
  ip: string;
  credentials: { user: string; password: string; mechanism?: string };
  /** The AUTH mechanisms the EHLO reply offered. */
  offered: string[];
  tlsActive: boolean;
  /** secauthremote (docs/patches.md seed 001): AUTH only after TLS. */
  secAuthRemote: boolean;
}

/** AUTH after EHLO (and STARTTLS): the first line, or why AUTH cannot start. */
export function beginClientAuth(context: ClientAuthContext): ClientAuthStart {
  const { ip, credentials } = context;
  if (context.secAuthRemote && !context.tlsActive) {
    return {
      kind: "failed",
      record: {
        kind: "Z",
        text: `Connected to ${ip} but AUTH is not allowed without TLS (secauthremote).\n`,
      },
    };
  }
  const mechanism = chooseMechanism(context.offered, credentials.mechanism);
  if (mechanism === undefined) {
    return {
      kind: "failed",
      record: {
        kind: "Z",
        text: `Connected to ${ip} but no AUTH mechanism I support was offered.\n`,
      },
    };
  }
  const sasl = new SaslClient(mechanism, {
    user: credentials.user,
    password: credentials.password,
  });
  const initial = sasl.initialResponse();
  const line = initial === undefined ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initial}`;
  return {
    kind: "started",
    exchange: new ClientAuthExchange(ip, mechanism, sasl),
    first: { line, sensitive: initial !== undefined },
  };
}

/** One AUTH exchange with a server, after its AUTH command went out. */
export class ClientAuthExchange {
  readonly #ip: string;
  readonly #mechanism: MechanismName;
  readonly #sasl: SaslClient;

  constructor(ip: string, mechanism: MechanismName, sasl: SaslClient) {
    this.#ip = ip;
    this.#mechanism = mechanism;
    this.#sasl = sasl;
  }

  /** The server's reply: 334 wants an answer, 2xx accepts, 4xx is Z and 5xx D. */
  reply(code: number, lines: string[]): ClientAuthProgress {
    const mechanism = this.#mechanism;
    if (code === 334) {
      try {
        const answer = this.#sasl.respond(lines[0].slice(4).trim());
        return { kind: "send", next: { line: answer, sensitive: true } };
      } catch (error) {
        if (!(error instanceof SaslClientError)) throw error;
        return {
          kind: "failed",
          record: {
            kind: "Z",
            text: `Connected to ${this.#ip} but authentication failed (AUTH ${mechanism}): ${
              error.message.replace(/\.$/, "")
            }.\n`,
          },
        };
      }
    }
    if (code >= 200 && code < 300) return { kind: "accepted" };
    return {
      kind: "failed",
      record: {
        kind: code >= 500 ? "D" : "Z",
        text: `Connected to ${this.#ip} but authentication was rejected (AUTH ${mechanism}).\n${
          formatRemoteHostSaid(lines)
        }`,
      },
    };
  }
}
