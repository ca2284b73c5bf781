/**
 * The POP3 replies of qmail-popup and qmail-pop3d (docs/queue-format.md §7.1,
 * §7.3), byte for byte where qmail has them, with the RFC 2449 §8 response
 * codes ([IN-USE], [SYS/TEMP]) and RFC 3206's [AUTH] added where they apply.
 * Note the trailing space of qmail's `+OK `. Each constant is one line
 * without its CRLF.
 */

/** qmail's `okay()`: every plain success, including the answer to PASS/APOP. */
export const REPLY_OK = "+OK ";

/** RFC 2449 §5's wording (also the zeitform CAPA of docs/patches.md seed 002). */
export const REPLY_CAPA = "+OK Capability list follows";

/** qmail-popup: anything but USER, PASS, APOP, QUIT, NOOP (and qmd's CAPA, STLS, AUTH). */
export const REPLY_AUTHORIZATION_FIRST = "-ERR authorization first";
/** qmail-pop3d: any command it does not know. */
export const REPLY_UNIMPLEMENTED = "-ERR unimplemented";
export const REPLY_SYNTAX = "-ERR syntax error";
export const REPLY_USER_FIRST = "-ERR USER first";

/**
 * qmail-popup's answer when checkpassword refuses; RFC 3206 §4's [AUTH]
 * added. qmail-popup then exits (one attempt per connection).
 */
export const REPLY_AUTH_FAILED = "-ERR [AUTH] authorization failed";
/** The verifier (or checkpassword exit 111) could not decide: RFC 3206 §4 [SYS/TEMP]. */
export const REPLY_AUTH_TEMPORARY = "-ERR [SYS/TEMP] temporary authentication failure, try later";
/** Too many recent failed logins from this address (qmd's lockout). */
export const REPLY_AUTH_BLOCKED = "-ERR [SYS/TEMP] too many failed logins, try later";
/**
 * qmd's own: USER or AUTH PLAIN/LOGIN on a connection where plain-text
 * passwords are not allowed (no TLS, not loopback, no control/pop3plaintext).
 * RFC 3206 §4 names [AUTH] for "an attempt to authenticate in violation of
 * policy"; refused before the password is sent.
 */
export const REPLY_PLAINTEXT_REFUSED =
  "-ERR [AUTH] plain-text passwords need TLS on this connection";
/**
 * qmd's own: a login (USER, PASS, APOP, AUTH) before TLS where control/pop3clientcert wants a
 * client certificate first ([AUTH]: RFC 3206 §4, a login against policy).
 */
export const REPLY_LOGIN_NEEDS_CERTIFICATE =
  "-ERR [AUTH] logins need TLS with a client certificate here";
/**
 * qmd's own: the TLS handshake brought no client certificate that clientca.pem and tlsclients
 * accept, with control/pop3clientcert set; the session ends (stunnel's verify refuses the
 * handshake).
 */
export const REPLY_CERTIFICATE_REFUSED = "-ERR [AUTH] no valid client certificate";
/** RFC 5034 §4: the client cancelled the exchange with `*`. */
export const REPLY_AUTH_CANCELLED = "-ERR authentication cancelled";
/** RFC 5034 §4: a response that is not base64 or does not parse. */
export const REPLY_AUTH_MALFORMED = "-ERR invalid authentication response";
/** AUTH naming a mechanism this connection does not offer. */
export const REPLY_AUTH_MECHANISM = "-ERR unrecognized authentication type";

/** RFC 2595 §4's example wording. */
export const REPLY_TLS_READY = "+OK Begin TLS negotiation";
export const REPLY_TLS_ACTIVE = "-ERR TLS already active";

/** RFC 2449 §8.1.1 [IN-USE]: another POP3 session holds the Maildir's lock. */
export const REPLY_IN_USE = "-ERR [IN-USE] mailbox in use by another session, try later";
/** qmail-pop3d's die_scan, with RFC 2449 §8.1.2 [SYS/TEMP]. */
export const REPLY_SCAN_FAILED = "-ERR [SYS/TEMP] unable to scan $HOME/Maildir";

/** qmail-pop3d's msgno(): the argument has no leading digits. */
export const REPLY_BAD_NUMBER = REPLY_SYNTAX;
export const REPLY_COUNTED_FROM_ONE = "-ERR messages are counted from 1";
export const REPLY_NOT_THAT_MANY = "-ERR not that many messages";
export const REPLY_ALREADY_DELETED = "-ERR already deleted";
/** qmail-pop3d's err_nosuch: the message file could not be opened (it vanished). */
export const REPLY_NO_SUCH_MESSAGE = "-ERR unable to open that message";
/** qmail-pop3d's err_nounlink, when the driver gives no text of its own. */
export const REPLY_UNLINK_FAILED = "-ERR unable to unlink all deleted messages";

/** qmd's own: a command line over the reader's limit (RFC 2449 §4 allows 255 octets). */
export const REPLY_LINE_TOO_LONG = "-ERR line too long";
/** qmd's own: a command line holding a NUL byte (qmail's C strings would cut it). */
export const REPLY_NUL_IN_COMMAND = REPLY_SYNTAX;
/** qmd's own: the idle timeout (qmail-popup/qmail-pop3d just exit after 1200 s). */
export const REPLY_TIMEOUT = "-ERR autologout, idle for too long";

/**
 * RETR with the Netscape progress-bar patch of docs/patches.md seed 000 (and RFC 1939 §5's
 * example): the size on disk in octets.
 */
export function formatRetrReply(size: number): string {
  return `+OK ${size} octets`;
}
