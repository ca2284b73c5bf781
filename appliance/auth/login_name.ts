/**
 * The user name of a login as the verifiers look it up, for counting failed
 * logins per account: an address (it has an '@') is case-insensitive, as the
 * account store keeps mailboxes in lower case; any other name goes to
 * checkpassword as given, where case matters (Unix user names).
 */
export function normaliseLoginName(user: string): string {
  return user.includes("@") ? user.toLowerCase() : user;
}
