/**
 * What an SMTP session (session.ts) is told about its connection when it is
 * made: the control files and environment qmail-smtpd reads (docs/queue-format.md
 * §8), the seed patches' limits, delays and AUTH, as the role resolved them.
 */
import type { BatvCheck } from "../send/batv.ts";
import type { MechanismName } from "../auth/mechanisms.ts";
import type { RcptHostsLookup } from "./mail_rcpt_address.ts";
import type { ActiveCheck } from "../filters/chain.ts";

/** SMTP AUTH for this connection (docs/patches.md seed 000 README.auth, seed 001 secauth*). */
export interface SmtpAuthOptions {
  /** Mechanisms before TLS (control/auth/smtp, default 60). */
  plainMechanisms: MechanismName[];
  /** Mechanisms once TLS is active (control/auth/smtps, default 63). */
  tlsMechanisms: MechanismName[];
  /** control/auth/oldauth > 0: also advertise `AUTH=LOGIN` for old Microsoft clients. */
  oldAuth: boolean;
  /** secauthext/secauthint: AUTH only once TLS is active. */
  requireTls: boolean;
  /** Seconds to pause after a failed AUTH (control/auth/delay, authfaildelay). */
  failDelaySeconds: number;
  /** Submission (RFC 6409): MAIL needs a successful AUTH first. */
  required: boolean;
  /** Host name for CRAM challenges and the DIGEST-MD5 realm. */
  hostname: string;
  /** A fresh CRAM challenge (`<pid.time@host>`) and DIGEST-MD5 nonce for each attempt. */
  newChallenge: () => { challenge: string; nonce: string };
  /** The growing pause after the Nth recent failure from this IP. */
  failureDelay?: (failures: number, baseSeconds: number) => number;
}

/** Pauses (seconds) the aio and qmail-md patches put into a session. */
export interface SmtpDelays {
  /** greetdelay: before the 220 (the role applies it, with databeforegreet). */
  greet: number;
  helo: number;
  mail: number;
  rcpt: number;
}

export interface SmtpSessionOptions {
  /** control/smtpgreeting lines, else [me]. The first line names the host in HELO/EHLO/QUIT. */
  greeting: string[];
  /** LOCAL in the Received line: TCPLOCALHOST, else TCPLOCALIP, else `unknown`. */
  localHost: string;
  /** TCPREMOTEIP. */
  remoteIp: string;
  /** TCPREMOTEHOST (`unknown` when not known). */
  remoteHost: string;
  /** TCPREMOTEINFO. */
  remoteInfo?: string;
  /** RELAYCLIENT: undefined = not set; its value is appended to every recipient. */
  relayClient?: string;
  /** rcpthosts + morercpthosts lookup of a lower-case domain or `.suffix`; null = no control/rcpthosts. */
  rcptHosts: RcptHostsLookup;
  /** control/databytes or DATABYTES; 0 = unlimited. */
  databytes: number;
  /**
   * databytesmf (docs/patches.md seed 001): a limit chosen by the sender address, overriding
   * databytes.
   */
  databytesForSender?: (address: string) => number | undefined;
  /**
   * databytesrcpt (docs/patches.md seed 001): a limit chosen by a recipient, overriding the rest.
   */
  databytesForRecipient?: (address: string) => number | undefined;
  /** control/badmailfrom entries (`addr` or `@domain`). */
  badMailFrom: string[];
  /** control/localiphost (default `me`), the name for `[d.d.d.d]` literals of this host. */
  localIpHost?: string;
  /** This host's IPv4 addresses, for the `[d.d.d.d]` rewrite (§8.4). */
  localIps?: string[];
  /** maxrecipients (docs/patches.md seed 001): recipients per message for every client. */
  maxRecipients?: number;
  /**
   * maxrcpt (docs/patches.md seed 000): recipients per message for clients without RELAYCLIENT or
   * AUTH.
   */
  maxUnauthRecipients?: number;
  /** maxaddrlen (docs/patches.md seed 000): longest address; default 899 as qmail. */
  maxAddressLength?: number;
  /** maxhops (docs/patches.md seed 000): Received/Delivered lines that mean a loop; default 100. */
  maxHops?: number;
  /**
   * tarpitcount/tarpitdelay (docs/patches.md seeds 000, 001): pause each RCPT after `count`; count
   * 0 = off.
   */
  tarpit?: { count: number; delaySeconds: number };
  delays?: SmtpDelays;
  /** STARTTLS: offered (a certificate and tlssmtpext/int allow it); active (SMTPS). */
  tls?: { offered: boolean; active: boolean };
  /** SMTP AUTH; undefined = no credentials source, so no AUTH. */
  auth?: SmtpAuthOptions;
  /**
   * BATV (docs/patches.md seed 001): with a signkey, bounces (MAIL FROM:<>) are accepted only
   * for addresses this host signed; a signed recipient is delivered without
   * its tag. `exempt` names recipients and clients the check skips.
   */
  batv?: {
    check: (address: string) => BatvCheck;
    exempt: (recipient: string, helo: string | undefined) => boolean;
  };
  /**
   * BLACKLISTED (docs/patches.md seed 000): every recipient becomes this address; databytes+ limits
   * the size.
   */
  blacklisted?: { recipient: string; databytes: number };
  /**
   * The filter chain's checks on for this client, in chain order
   * (config/filter_modules.ts activeChecks); absent = none.
   */
  checks?: readonly ActiveCheck[];
  /** The client's layered environment (process, listener, tcp.smtp), for the checks' requests. */
  env?: Readonly<Record<string, string>>;
  /** databytes+ for a client a check marks BLACKLISTED; default databytes. */
  blacklistDatabytes?: number;
}
