/**
 * What the POP3 session core (session.ts) hands its role: a step of replies,
 * a pause, effects to run in order and whether to close; and the scanned
 * messages the role reports back when the Maildir is open.
 */
import type { Credentials } from "../auth/sasl_server.ts";

/** One message of the scanned Maildir. */
export interface Pop3Message {
  /** `new/NAME` or `cur/NAME:2,S`, relative to the Maildir. */
  name: string;
  /** Bytes on disk (LF line ends, as qmail-pop3d reports them). */
  size: number;
  /** The file name without new/ or cur/, up to the first `:`. */
  uidl: string;
}

export type Pop3Effect =
  /** Write the replies, drop buffered input, handshake, then tlsStarted(). */
  | { kind: "starttls" }
  /** Check the credentials, then authVerified(). Never log them. */
  | { kind: "auth"; credentials: Credentials }
  /** Lock and scan the Maildir, then mailboxOpened() or mailboxFailed(). */
  | { kind: "open" }
  /**
   * Open the message; if gone write retrieveFailed()'s replies instead of the
   * step's, else the step's reply, the message (TOP: headers, blank line and
   * `lines` body lines) with qmail-pop3d's framing, and `.`.
   */
  | { kind: "retrieve"; message: Pop3Message; lines?: number }
  /** Unlink these, rename new/ to cur/, then committed(). */
  | { kind: "commit"; deleted: Pop3Message[] };

export interface Pop3Step {
  /** Reply lines without CRLF; a multi-line reply is several strings, its `.` included. */
  replies: string[];
  effects: Pop3Effect[];
  /** Close the connection after writing the replies. */
  close: boolean;
  /** Seconds to pause before writing the replies; 0 = none. */
  delay: number;
}

/** A step with these replies; no effects, no close and no pause unless given. */
export function step(
  replies: string[],
  options: { close?: boolean; effects?: Pop3Effect[]; delay?: number } = {},
): Pop3Step {
  return {
    replies,
    effects: options.effects ?? [],
    close: options.close ?? false,
    delay: options.delay ?? 0,
  };
}
