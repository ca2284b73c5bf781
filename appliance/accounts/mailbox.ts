/**
 * A virtual mailbox as the account store describes it, and the password
 * and quotas it accepts for one. The Maildir is derived, never stored:
 * HOME/mail/DOMAIN/USER/Maildir.
 */
import { AccountError } from "./account_names.ts";

export interface Mailbox {
  /** user@domain, lower case. */
  address: string;
  domain: string;
  user: string;
  /** Absolute path HOME/mail/DOMAIN/USER/Maildir. */
  maildir: string;
  /** Maildir++ quota in bytes; 0 = none. */
  quotaBytes: number;
  /** Maildir++ quota in messages; 0 = none. */
  quotaMessages: number;
  /** Whether a challenge secret is stored, so CRAM-* and DIGEST-MD5 can authenticate it. */
  challengeAuth: boolean;
}

export interface MailboxOptions {
  quotaBytes?: number;
  quotaMessages?: number;
  /** Store the password for challenge mechanisms too (default false: scrypt hash only). */
  challengeAuth?: boolean;
}

/** What AUTH needs to check a mailbox's credentials. */
export interface MailboxSecrets {
  /** user@domain, lower case. */
  address: string;
  /** The `scrypt$N$r$p$SALT$HASH` string for PLAIN and LOGIN. */
  scryptHash: string;
  /** The password as given, only for mailboxes with challenge auth enabled. */
  challengeSecret: string | undefined;
}

const MAX_PASSWORD_LENGTH = 1024;

/** Throws AccountError("invalid") for a password or quota that addMailbox would refuse. */
export function validateMailboxInput(password: string, options: MailboxOptions = {}): void {
  checkPassword(password);
  checkQuota(options.quotaBytes, "quota bytes");
  checkQuota(options.quotaMessages, "quota messages");
}

/** Throws AccountError("invalid") for an empty, overlong or multi-line password. */
export function checkPassword(password: string): void {
  if (password.length === 0) throw new AccountError("Empty password", "invalid");
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new AccountError(`Password longer than ${MAX_PASSWORD_LENGTH} characters`, "invalid");
  }
  if (/[\0\r\n]/.test(password)) {
    throw new AccountError("Password may not contain NUL, CR or LF", "invalid");
  }
}

/** The quota (0 when not given); throws AccountError("invalid") unless a whole number >= 0. */
export function checkQuota(value: number | undefined, what: string): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AccountError(`Invalid ${what}: ${value} (a whole number >= 0)`, "invalid");
  }
  return value;
}
