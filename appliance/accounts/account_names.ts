/**
 * Names the account store accepts: host names for domains and mailbox
 * addresses `user@domain`. Both become path components under HOME/mail, so
 * anything that could escape that tree ('/', '..', a leading '.', control
 * characters) is refused. Names are kept in lower case: lookups are
 * case-insensitive, as vpopmail's are.
 */
import { MailError } from "../mail_error.ts";

/** A name the store refuses. Always permanent: retrying cannot help. */
export class AccountError extends MailError {
  constructor(
    message: string,
    /** invalid: a bad name; exists / missing: the row is (not) there; not-empty: a domain with mailboxes. */
    readonly kind: "invalid" | "exists" | "missing" | "not-empty",
  ) {
    super(message, { temporary: false });
    this.name = "AccountError";
  }
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether `name` is a host name (RFC 1123 labels, at most 253 characters); case-insensitive. */
export function isValidHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.toLowerCase().split(".").every((label) => LABEL.test(label));
}

/** Lower-cases and checks a domain name; throws AccountError("invalid") when it is not a host name. */
export function parseDomain(domain: string): string {
  const lower = domain.toLowerCase();
  if (!isValidHostname(lower)) {
    throw new AccountError(`Invalid domain ${JSON.stringify(domain)}: not a host name`, "invalid");
  }
  return lower;
}

/**
 * Splits `user@domain` (at the last '@'), lower-cases both parts and checks
 * them. The user part may hold any printable character except '/', '@' and
 * white space; it may not start with '.' nor contain '..'.
 */
export function parseMailboxAddress(address: string): { user: string; domain: string } {
  const at = address.lastIndexOf("@");
  if (at < 0) {
    throw new AccountError(`Invalid address ${JSON.stringify(address)}: no @domain`, "invalid");
  }
  const user = address.slice(0, at).toLowerCase();
  const domainPart = address.slice(at + 1);
  if (user === "") {
    throw new AccountError(`Invalid address ${JSON.stringify(address)}: empty user`, "invalid");
  }
  if (domainPart === "") {
    throw new AccountError(`Invalid address ${JSON.stringify(address)}: empty domain`, "invalid");
  }
  if (user.length > 64) {
    throw new AccountError(
      `Invalid address ${JSON.stringify(address)}: user longer than 64 characters`,
      "invalid",
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20\x7f/@]/.test(user)) {
    throw new AccountError(
      `Invalid address ${JSON.stringify(address)}: user may not contain '/', '@', ` +
        `white space or control characters`,
      "invalid",
    );
  }
  if (user.startsWith(".") || user.includes("..")) {
    throw new AccountError(
      `Invalid address ${JSON.stringify(address)}: user may not start with '.' or contain '..'`,
      "invalid",
    );
  }
  return { user, domain: parseDomain(domainPart) };
}
