/**
 * Exit codes by name. qmail's programs answer with them: 0 done, 100 a
 * permanent failure, 111 a temporary one (qmail-command(8), qmail-local(8),
 * qmail-inject(8)); qmail-queue has a table of its own (docs/queue-format.md
 * §3.4). Code that fails turns its MailError into one of these only where a
 * process ends (appliance/mail_error.ts, exitCodeFor).
 */

export const EXIT = {
  /** Done. */
  ok: 0,
  /**
   * qmail-smtpd's and qmail-pop3d's end other than QUIT (their `_exit(1)`):
   * end of input, a timeout, controls that cannot be read.
   */
  sessionEnded: 1,
  /** A command line qmd cannot read (sysexits.h EX_USAGE). */
  usage: 64,
  /** A permanent failure: trying again cannot help. */
  permanent: 100,
  /** A temporary failure: try again later. Also anything not known to be permanent. */
  temporary: 111,
} as const;

/** qmail's two failure codes. */
export type FailureExitCode = typeof EXIT.permanent | typeof EXIT.temporary;

/**
 * qmail-queue's exit codes and the ones qmail_close adds for its callers
 * (docs/queue-format.md §3.4): 11 to 40 are permanent, every other non-zero
 * code temporary.
 */
export const QUEUE_EXIT = {
  ok: 0,
  addressTooLong: 11,
  /** For compatible programs: the server refuses the message for good. */
  permanentlyRejected: 31,
  outOfMemory: 51,
  /** The 24-hour alarm. */
  timeout: 52,
  /** A write error, e.g. a full disk. */
  write: 53,
  /** The message or envelope could not be read (also an early end of input). */
  read: 54,
  /** For compatible programs: a configuration file could not be read. */
  configuration: 55,
  /** For compatible programs: a network connection could not be made. */
  network: 56,
  home: 61,
  queue: 62,
  pid: 63,
  mess: 64,
  intd: 65,
  todo: 66,
  /** For compatible programs: the server refuses the message for now. */
  temporarilyRejected: 71,
  /** For compatible programs: the connection timed out. */
  connectionTimedOut: 72,
  /** For compatible programs: the connection was refused. */
  connectionRejected: 73,
  /** For compatible programs: connected, then the exchange failed. */
  communication: 74,
  internalBug: 81,
  /**
   * The queue program wrote its own D/Z text (notqmail, the aio patch: docs/patches.md seed 001).
   */
  customError: 82,
  envelopeFormat: 91,
  /** qmail_close's alias for 11. */
  addressTooLongAlias: 115,
  /** qmail_close's code when the queue program could not be executed. */
  execFailed: 120,
} as const;

/** The permanent range of qmail-queue's exit codes (docs/queue-format.md §3.4). */
const QUEUE_PERMANENT_FIRST = 11;
const QUEUE_PERMANENT_LAST = 40;

/** Whether a qmail-queue exit code is a permanent failure: 11 to 40 (§3.4). */
export function isPermanentQueueExit(code: number): boolean {
  return code >= QUEUE_PERMANENT_FIRST && code <= QUEUE_PERMANENT_LAST;
}

/**
 * How qmail-local reads the exit code of a `|program` delivery
 * (qmail-command(8)): 0 done, 99 done and skip the rest of the .qmail file,
 * these codes a permanent failure, anything else temporary.
 */
export const PROGRAM_EXIT = {
  ok: 0,
  stop: 99,
  /** 100 and the sysexits.h codes 64, 65, 70, 76, 77, 78, and 112. */
  permanent: [EXIT.permanent, EXIT.usage, 65, 70, 76, 77, 78, 112] as readonly number[],
} as const;

/** checkpassword's interface: 0 the password is right, 1 it is wrong, anything else temporary. */
export const CHECKPASSWORD_EXIT = {
  accepted: 0,
  rejected: 1,
} as const;
