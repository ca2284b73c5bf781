/**
 * Deciding credentials from a SASL exchange (I/O): virtual mailboxes in
 * HOME/accounts.sqlite, and users/assign users through an external
 * checkpassword program. Every secret comparison is constant time
 * (timingSafeEqual); nothing here logs, but each refusal carries its reason
 * for the caller's log.
 *
 * accounts.sqlite holds a scrypt hash for every mailbox (PLAIN, LOGIN) and the
 * password itself only for mailboxes with challenge auth enabled (CRAM-*,
 * DIGEST-MD5); see appliance/accounts/store.ts.
 */
import { timingSafeEqual } from "node:crypto";
import { homePaths } from "../../config/home.ts";
import { verifyPasswordHash } from "../accounts/password_hash.ts";
import { AccountStore } from "../accounts/store.ts";
import {
  type CheckpasswordRunOptions,
  formatCheckpasswordInput,
  runCheckpassword,
} from "./checkpassword.ts";
import { apopDigest, cramDigest } from "./cram.ts";
import { computeDigestMd5 } from "./digest_md5.ts";
import type { ChallengeAuthSupport } from "./mechanisms.ts";
import type { Credentials, VerifyResult } from "./sasl_server.ts";

export interface AuthVerifier {
  verify(credentials: Credentials): Promise<VerifyResult>;
  /**
   * Decides only users this verifier knows; undefined means "not mine" (and
   * costs no padding work). chainVerifiers uses it to pass others on. A
   * verifier without it knows everyone.
   */
  verifyIfKnown?(credentials: Credentials): Promise<VerifyResult | undefined>;
  /** Releases what the verifier holds open (the accounts database). */
  close?(): void;
}

/** A refusal with its reason for the log. */
function rejected(reason: string): VerifyResult {
  return { ok: false, temporary: false, reason };
}

/** What the log says when a CRAM, DIGEST-MD5 or APOP login meets a mailbox that cannot use it. */
export const NO_CHALLENGE_SECRET =
  "mailbox has no challenge secret: use `qmd user passwd --challenge-auth`";

const WRONG_PASSWORD = rejected("wrong password");
const WRONG_RESPONSE = rejected("wrong challenge response");
const NO_SECRET = rejected(NO_CHALLENGE_SECRET);

/** Constant-time equality of two ASCII texts (hex digests). */
function sameText(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Virtual mailboxes (user@domain, case-insensitive). The database is opened
 * read-only on first use; a home without one knows nobody yet, and is looked
 * at again on the next call.
 */
export class AccountsVerifier implements AuthVerifier {
  readonly #home: string;
  #store: AccountStore | undefined;

  constructor(home: string) {
    this.#home = home;
  }

  /**
   * The verdict for a known mailbox. An unknown one (or a user name without
   * '@') gives undefined; a database that cannot be read gives a temporary
   * failure.
   */
  async verifyIfKnown(credentials: Credentials): Promise<VerifyResult | undefined> {
    if (!credentials.user.includes("@")) return undefined;
    let secrets;
    try {
      const store = this.#open();
      if (store === undefined) return undefined;
      secrets = store.findSecrets(credentials.user);
    } catch (error) {
      return {
        ok: false,
        temporary: true,
        reason: `cannot read the accounts database: ${(error as Error).message}`,
      };
    }
    if (secrets === undefined) return undefined;
    const [local, domain] = splitAddress(secrets.address);
    const accepted: VerifyResult = {
      ok: true,
      user: secrets.address,
      // Derived as the store derives a Maildir: HOME/mail/DOMAIN/USER/Maildir.
      home: `${homePaths(this.#home).mail}/${domain}/${local}`,
    };
    switch (credentials.kind) {
      case "password":
        return await verifyPasswordHash(secrets.scryptHash, credentials.password)
          ? accepted
          : WRONG_PASSWORD;
      case "cram": {
        // Challenge auth not enabled for this mailbox: nothing to compare with.
        if (secrets.challengeSecret === undefined) return NO_SECRET;
        const expected = cramDigest(
          credentials.mechanism,
          secrets.challengeSecret,
          credentials.challenge,
        );
        return sameText(expected, credentials.response) ? accepted : WRONG_RESPONSE;
      }
      case "apop": {
        if (secrets.challengeSecret === undefined) return NO_SECRET;
        const expected = apopDigest(credentials.timestamp, secrets.challengeSecret);
        return sameText(expected, credentials.digest.toLowerCase()) ? accepted : WRONG_RESPONSE;
      }
      case "digest-md5": {
        if (secrets.challengeSecret === undefined) return NO_SECRET;
        const response = credentials.response;
        const expected = computeDigestMd5({
          username: response.username,
          realm: response.realm,
          password: secrets.challengeSecret,
          nonce: response.nonce,
          cnonce: response.cnonce,
          nc: response.nc,
          qop: response.qop,
          digestUri: response.digestUri,
          authzid: response.authzid,
        });
        return sameText(expected.response, response.response)
          ? { ...accepted, rspauth: expected.rspauth }
          : WRONG_RESPONSE;
      }
    }
  }

  /**
   * The verdict for anyone: an unknown user is rejected after the same scrypt
   * work a known one costs for PLAIN and LOGIN, so timing does not tell which
   * addresses exist (docs/reliability.md A3).
   */
  async verify(credentials: Credentials): Promise<VerifyResult> {
    const known = await this.verifyIfKnown(credentials);
    if (known !== undefined) return known;
    if (credentials.kind === "password") {
      await verifyPasswordHash(undefined, credentials.password);
    }
    return rejected("no such mailbox");
  }

  /**
   * Whether any mailbox can answer a challenge (CRAM-*, DIGEST-MD5, APOP):
   * false without a database or without a mailbox made with --challenge-auth.
   */
  hasChallengeSecrets(): boolean {
    return this.#open()?.hasChallengeSecrets() ?? false;
  }

  close(): void {
    this.#store?.close();
    this.#store = undefined;
  }

  #open(): AccountStore | undefined {
    if (this.#store === undefined) {
      try {
        Deno.statSync(homePaths(this.#home).accounts);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
      this.#store = AccountStore.open(this.#home, { readonly: true });
    }
    return this.#store;
  }
}

/** Mailboxes in HOME/accounts.sqlite: scrypt for PLAIN/LOGIN, the challenge secret for the rest. */
export function accountsVerifier(home: string): AccountsVerifier {
  return new AccountsVerifier(home);
}

/**
 * Which challenge mechanisms can succeed for some user of `home`: any mailbox
 * with a challenge secret, or a checkpassword program for the CRAM family.
 * Throws when the accounts database cannot be read.
 */
export function challengeAuthSupport(home: string, checkpassword: boolean): ChallengeAuthSupport {
  const accounts = accountsVerifier(home);
  try {
    const secrets = accounts.hasChallengeSecrets();
    return { cram: secrets || checkpassword, digest: secrets };
  } finally {
    accounts.close();
  }
}

/** challengeAuthSupport, or undefined (unknown: the masks apply) when the database cannot be read. */
export function challengeAuthSupportOrUnknown(
  home: string,
  checkpassword: boolean,
): ChallengeAuthSupport | undefined {
  try {
    return challengeAuthSupport(home, checkpassword);
  } catch {
    return undefined;
  }
}

/**
 * An external checkpassword program, `argv` = program and its arguments
 * (e.g. ["/bin/checkpassword", "/bin/true"]). Exit 0 accepts, 1 rejects,
 * anything else, a crash or the timeout is a temporary failure. DIGEST-MD5
 * cannot go through this interface and is rejected.
 */
export function checkpasswordVerifier(
  argv: string[],
  options: CheckpasswordRunOptions & { reportHome?: boolean } = {},
): AuthVerifier {
  if (argv.length === 0) throw new Error("Checkpassword needs a program to run");
  // For POP3 the program checkpassword runs on success (the last word, e.g.
  // /bin/true) becomes `/bin/sh -c pwd`: checkpassword has changed to the
  // user's home by then, so this prints where the Maildir is (qmail-popup
  // would run qmail-pop3d there instead).
  const program = options.reportHome
    ? [...argv.slice(0, Math.max(1, argv.length - 1)), "/bin/sh", "-c", "pwd"]
    : [...argv];
  const runOptions = { ...options, captureOutput: options.reportHome };
  return {
    async verify(credentials: Credentials): Promise<VerifyResult> {
      const input = formatCheckpasswordInput(credentials);
      if (input === undefined) {
        return rejected(
          credentials.kind === "digest-md5"
            ? "DIGEST-MD5 cannot be checked by checkpassword"
            : "the credentials do not fit checkpassword's 512 bytes",
        );
      }
      const run = await runCheckpassword(program, input, runOptions);
      if (run.outcome === "accepted") {
        const home = run.output?.split("\n")[0].trim();
        if (options.reportHome && (home === undefined || !home.startsWith("/"))) {
          return { ok: false, temporary: true, reason: "checkpassword reported no home directory" };
        }
        return { ok: true, user: credentials.user, ...(options.reportHome ? { home } : {}) };
      }
      if (run.outcome === "rejected") return rejected("checkpassword refused");
      const why = run.timedOut
        ? "timed out"
        : run.signal !== null
        ? `killed by ${run.signal}`
        : `exit ${run.code}`;
      return { ok: false, temporary: true, reason: `checkpassword failed: ${why}` };
    },
  };
}

/**
 * `first` decides the users it knows (for accounts: an address with '@' that
 * has a mailbox); everyone else goes to `second` (checkpassword) when there
 * is one, else `first` rejects them.
 */
export function chainVerifiers(
  first: AuthVerifier,
  second: AuthVerifier | undefined,
): AuthVerifier {
  if (second === undefined) return first;
  return {
    async verify(credentials: Credentials): Promise<VerifyResult> {
      const decided = first.verifyIfKnown
        ? await first.verifyIfKnown(credentials)
        : await first.verify(credentials);
      return decided ?? await second.verify(credentials);
    },
    close() {
      first.close?.();
      second.close?.();
    },
  };
}

/** user@domain → [user, domain] at the last "@". */
function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf("@");
  return [address.slice(0, at), address.slice(at + 1)];
}
