/**
 * What the SMTP client session (client.ts) is given for one connection: the
 * server's address, this host's name, the STARTTLS and AUTH policy of the
 * route, and the first message's envelope.
 */

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
  /**
   * The envelope has a non-ASCII address (smtputf8.ts needsSmtpUtf8): MAIL FROM carries SMTPUTF8
   * (RFC 6531 §3.4), and a server that does not offer it gets no MAIL (553 5.6.7, a D record).
   */
  smtpUtf8?: boolean;
}

/** STARTTLS policy (docs/patches.md seed 001 tlsremote, tlshosts/<FQDN>.pem). */
export type TlsPolicy =
  /** Never STARTTLS. */
  | { mode: "off" }
  /** tlsremote: STARTTLS when offered; a rejected STARTTLS continues in plain text. */
  | { mode: "opportunistic" }
  /** A pinned host: TLS or defer, never plain. pinFile names the file in texts. */
  | { mode: "required"; pinFile: string }
  /**
   * TLS with a verified certificate or defer, never plain (MTA-STS enforce,
   * DANE): requiredBy names the policy in texts ("the MTA-STS policy of example.com").
   */
  | { mode: "verified"; requiredBy: string };

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
  /** secauthremote (docs/patches.md seed 001): AUTH only after TLS. */
  secAuthRemote?: boolean;
  message: SmtpMessage;
}
