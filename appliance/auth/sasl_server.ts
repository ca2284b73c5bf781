/**
 * The server side of the six SASL mechanisms as one pure state machine per
 * AUTH command, shared by SMTP (RFC 4954) and POP3 (RFC 5034). It does no I/O
 * and checks no password: when it has the client's credentials it returns a
 * `verify` step, and the role answers with `verified()`. The CRAM challenge
 * and the DIGEST-MD5 nonce come from the caller.
 *
 * - LOGIN: prompts "Username:" and "Password:" (draft-murchison-sasl-login);
 *   an initial response is the user name.
 * - PLAIN: authzid NUL authcid NUL passwd (RFC 4616 §2); authzid must be
 *   empty or the authcid, since nobody may act for another user here.
 * - CRAM-MD5 / CRAM-SHA1 / CRAM-RIPEMD: RFC 2195 §2 with the respective HMAC.
 * - DIGEST-MD5: RFC 2831 with qop=auth, algorithm=md5-sess, charset=utf-8;
 *   the digest-uri must be SERVICE/HOSTNAME, the nonce ours and nc 00000001;
 *   after the verifier agrees the server sends rspauth and waits for the
 *   client's empty response (§2.1.3).
 *
 * A client line "*" cancels (RFC 4954 §4). A line that is not strict base64,
 * longer than MAX_SASL_LINE, or does not parse gives failure "malformed".
 */
import { decodeBase64, decodeUtf8, encodeBase64 } from "./base64.ts";
import { parseCramResponse } from "./cram.ts";
import {
  type DigestMd5Response,
  formatDigestMd5Challenge,
  parseDigestMd5Response,
} from "./digest_md5.ts";
import { type CramMechanism, isCramMechanism, type MechanismName } from "./mechanisms.ts";

export type { DigestMd5Response } from "./digest_md5.ts";

export type Credentials =
  /** PLAIN, LOGIN, or POP3's USER/PASS. */
  | { kind: "password"; mechanism: "LOGIN" | "PLAIN" | "USER"; user: string; password: string }
  /** POP3 APOP (RFC 1939 §7): digest = hex MD5(timestamp + secret). */
  | { kind: "apop"; user: string; timestamp: string; digest: string }
  | {
    kind: "cram";
    mechanism: CramMechanism;
    user: string;
    challenge: string;
    /** Lower-case hex digest sent by the client. */
    response: string;
  }
  | { kind: "digest-md5"; user: string; realm: string; response: DigestMd5Response };

export type VerifyResult =
  | {
    ok: true;
    user: string;
    /** DIGEST-MD5 only. */
    rspauth?: string;
    /** The user's home (its Maildir is HOME/Maildir), when the verifier was asked for it (POP3). */
    home?: string;
  }
  | {
    ok: false;
    temporary: boolean;
    /** Why, for the log only (never sent to the client, never a secret). */
    reason?: string;
  };

export type SaslFailureReason = "cancelled" | "malformed" | "rejected" | "temporary";

export type SaslStep =
  /** Base64 text the protocol sends ("334 data" / "+ data"); may be "". */
  | { kind: "challenge"; data: string }
  | { kind: "verify"; credentials: Credentials }
  | { kind: "success"; user: string }
  | { kind: "failure"; reason: SaslFailureReason };

export interface SaslServerOptions {
  /** e.g. "<12345.1700000000@mail.example.com>" for CRAM; made by the caller (role). */
  challenge: string;
  /** DIGEST-MD5 realm and digest-uri host (control/me). */
  hostname: string;
  /** Random nonce for DIGEST-MD5 made by the caller. */
  nonce: string;
  /** The DIGEST-MD5 digest-uri service: "smtp" or "pop" (RFC 2831 §2.1.2 serv-type). */
  service: string;
}

/** Longest client line accepted (base64 text without CR LF): 12 KiB. */
export const MAX_SASL_LINE = 12 * 1024;

/** base64("Username:") and base64("Password:"), the LOGIN prompts every client expects. */
const LOGIN_USER_PROMPT = "VXNlcm5hbWU6";
const LOGIN_PASSWORD_PROMPT = "UGFzc3dvcmQ6";

type Phase =
  | { name: "new" }
  | { name: "login-user" }
  | { name: "login-password"; user: string }
  | { name: "plain" }
  | { name: "cram"; mechanism: CramMechanism }
  | { name: "digest" }
  | { name: "verifying"; digest: boolean }
  | { name: "digest-rspauth"; user: string }
  | { name: "done" };

export class SaslServer {
  readonly #mechanism: MechanismName;
  readonly #options: SaslServerOptions;
  #phase: Phase = { name: "new" };

  constructor(mechanism: MechanismName, options: SaslServerOptions) {
    this.#mechanism = mechanism;
    this.#options = options;
  }

  get mechanism(): MechanismName {
    return this.#mechanism;
  }

  /** Whether the exchange has ended (success or failure). */
  get done(): boolean {
    return this.#phase.name === "done";
  }

  /**
   * After `AUTH MECH [initial-response]`; "=" is an empty initial response
   * (RFC 4954 §4). CRAM and DIGEST-MD5 are server-first, so an initial
   * response to them is malformed.
   */
  start(initialResponse?: string): SaslStep {
    if (this.#phase.name !== "new") throw new Error("SASL exchange already started");
    const mechanism = this.#mechanism;
    if (initialResponse === "*") return this.#fail("cancelled");
    if (mechanism === "LOGIN") {
      // "=" (empty) names no user: ask for one, as if there were no initial response.
      if (initialResponse === undefined || initialResponse === "=") {
        this.#phase = { name: "login-user" };
        return { kind: "challenge", data: LOGIN_USER_PROMPT };
      }
      this.#phase = { name: "login-user" };
      return this.receive(initialResponse);
    }
    if (mechanism === "PLAIN") {
      this.#phase = { name: "plain" };
      if (initialResponse === undefined) return { kind: "challenge", data: "" };
      return this.receive(initialResponse === "=" ? "" : initialResponse);
    }
    if (initialResponse !== undefined) return this.#fail("malformed");
    if (isCramMechanism(mechanism)) {
      this.#phase = { name: "cram", mechanism };
      return { kind: "challenge", data: encodeBase64(this.#options.challenge) };
    }
    this.#phase = { name: "digest" };
    return {
      kind: "challenge",
      data: encodeBase64(
        formatDigestMd5Challenge({ realm: this.#options.hostname, nonce: this.#options.nonce }),
      ),
    };
  }

  /** One client line (base64, or "*" = cancel), without its CR LF. */
  receive(line: string): SaslStep {
    const phase = this.#phase;
    if (phase.name === "new" || phase.name === "verifying" || phase.name === "done") {
      throw new Error(`SASL exchange is not waiting for a client line (${phase.name})`);
    }
    if (line === "*") return this.#fail("cancelled");
    if (line.length > MAX_SASL_LINE) return this.#fail("malformed");
    const bytes = decodeBase64(line);
    if (bytes === undefined) return this.#fail("malformed");
    switch (phase.name) {
      case "login-user": {
        const user = decodeUtf8(bytes);
        if (!user || user.includes("\0")) return this.#fail("malformed");
        this.#phase = { name: "login-password", user };
        return { kind: "challenge", data: LOGIN_PASSWORD_PROMPT };
      }
      case "login-password": {
        const password = decodeUtf8(bytes);
        if (!password || password.includes("\0")) return this.#fail("malformed");
        return this.#verify(
          { kind: "password", mechanism: "LOGIN", user: phase.user, password },
          false,
        );
      }
      case "plain": {
        const parsed = parsePlainResponse(bytes);
        if (parsed === undefined) return this.#fail("malformed");
        if (parsed.authzid !== "" && parsed.authzid !== parsed.user) {
          return this.#fail("rejected");
        }
        return this.#verify(
          { kind: "password", mechanism: "PLAIN", user: parsed.user, password: parsed.password },
          false,
        );
      }
      case "cram": {
        const text = decodeUtf8(bytes);
        const parsed = text === undefined ? undefined : parseCramResponse(phase.mechanism, text);
        if (parsed === undefined) return this.#fail("malformed");
        return this.#verify({
          kind: "cram",
          mechanism: phase.mechanism,
          user: parsed.user,
          challenge: this.#options.challenge,
          response: parsed.digest,
        }, false);
      }
      case "digest": {
        const response = parseDigestMd5Response(bytes);
        if (response === undefined) return this.#fail("malformed");
        const problem = this.#checkDigestResponse(response);
        if (problem !== undefined) return this.#fail(problem);
        return this.#verify({
          kind: "digest-md5",
          user: response.username,
          realm: response.realm,
          response,
        }, true);
      }
      case "digest-rspauth":
        // RFC 2831 §2.1.3: the client answers rspauth with an empty response.
        if (bytes.length !== 0) return this.#fail("malformed");
        this.#phase = { name: "done" };
        return { kind: "success", user: phase.user };
    }
  }

  /** The role's verification result for the last `verify` step. */
  verified(result: VerifyResult): SaslStep {
    const phase = this.#phase;
    if (phase.name !== "verifying") throw new Error("SASL exchange is not waiting for a verdict");
    if (!result.ok) return this.#fail(result.temporary ? "temporary" : "rejected");
    if (phase.digest) {
      if (result.rspauth === undefined) return this.#fail("temporary");
      this.#phase = { name: "digest-rspauth", user: result.user };
      return { kind: "challenge", data: encodeBase64(`rspauth=${result.rspauth}`) };
    }
    this.#phase = { name: "done" };
    return { kind: "success", user: result.user };
  }

  #verify(credentials: Credentials, digest: boolean): SaslStep {
    this.#phase = { name: "verifying", digest };
    return { kind: "verify", credentials };
  }

  #fail(reason: SaslFailureReason): SaslStep {
    this.#phase = { name: "done" };
    return { kind: "failure", reason };
  }

  /** The checks RFC 2831 §2.1.2 leaves to the server, beyond syntax. */
  #checkDigestResponse(response: DigestMd5Response): SaslFailureReason | undefined {
    const { hostname, nonce, service } = this.#options;
    if (response.nonce !== nonce) return "rejected";
    // §2.1.2 "nc-value": we never allow subsequent authentication, so only the first count.
    if (response.nc !== "00000001") return "rejected";
    if (response.qop !== "auth") return "malformed";
    if (response.realm !== "" && response.realm.toLowerCase() !== hostname.toLowerCase()) {
      return "rejected";
    }
    // §2.1.2 "digest-uri": serv-type/host, serv-name omitted when it equals host.
    const uri = response.digestUri.split("/");
    if (
      uri.length !== 2 || uri[0].toLowerCase() !== service.toLowerCase() ||
      uri[1].toLowerCase() !== hostname.toLowerCase()
    ) {
      return "rejected";
    }
    // No proxy authorization: an authzid must name the user itself.
    if (response.authzid !== undefined && response.authzid !== response.username) {
      return "rejected";
    }
    return undefined;
  }
}

/**
 * RFC 4616 §2: `[authzid] NUL authcid NUL passwd`, UTF-8, authcid and passwd
 * not empty. Undefined when the message is anything else.
 */
export function parsePlainResponse(
  bytes: Uint8Array,
): { authzid: string; user: string; password: string } | undefined {
  const text = decodeUtf8(bytes);
  if (text === undefined) return undefined;
  const parts = text.split("\0");
  if (parts.length !== 3) return undefined;
  const [authzid, user, password] = parts;
  if (user === "" || password === "") return undefined;
  return { authzid, user, password };
}
