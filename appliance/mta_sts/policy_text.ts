/**
 * MTA-STS texts (RFC 8461), pure: the `_mta-sts` TXT record (§3.1), the
 * policy file served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt
 * (§3.2), whether an MX host name matches a policy's `mx` patterns (§4.1),
 * and the policy qmd serves for its own domains (control/mtasts) with the id
 * that changes whenever its text does.
 *
 * The parser is strict where the RFC is: the version must be STSv1, the mode
 * one of enforce/testing/none, max_age a whole number of seconds up to
 * 31557600, and a policy that is not "none" needs at least one mx line.
 * Unknown keys are ignored (§3.2: "extension fields").
 */

/** §3.2 */
export type StsMode = "enforce" | "testing" | "none";

export interface StsPolicy {
  mode: StsMode;
  /** Seconds the policy may be cached (§3.2 max_age). */
  maxAge: number;
  /** MX patterns, lower case, without a trailing dot ("*.example.com" allowed). */
  mx: string[];
}

/** §3.2: "max_age ... up to 31557600" (about one year). */
export const MAX_AGE_LIMIT = 31_557_600;

/** The policy id of a `_mta-sts` TXT record set (§3.1), or why there is none. */
export type StsRecord = { ok: true; id: string } | { ok: false; reason: string };

/**
 * The `_mta-sts.DOMAIN` TXT records (§3.1): exactly one must begin with
 * "v=STSv1"; its fields are `key=value` separated by ";", and `id` is 1 to
 * 32 letters and digits. Several STSv1 records, or a bad id, mean no policy.
 */
export function parseStsRecord(texts: string[]): StsRecord {
  const records = texts.filter((text) => /^v=STSv1(;|\s|$)/.test(text));
  if (records.length === 0) return { ok: false, reason: "no v=STSv1 record" };
  if (records.length > 1) return { ok: false, reason: "more than one v=STSv1 record" };
  const fields = new Map<string, string>();
  for (const part of records[0].split(";")) {
    const field = part.trim();
    if (field === "") continue;
    const equals = field.indexOf("=");
    if (equals <= 0) return { ok: false, reason: `malformed field "${field}"` };
    fields.set(field.slice(0, equals).trim(), field.slice(equals + 1).trim());
  }
  const id = fields.get("id");
  if (id === undefined || !/^[A-Za-z0-9]{1,32}$/.test(id)) {
    return { ok: false, reason: "missing or malformed id" };
  }
  return { ok: true, id };
}

/** A parsed policy file, or why it is not one. */
export type ParsedPolicy = { ok: true; policy: StsPolicy } | { ok: false; reason: string };

/** The policy file's text (§3.2: `key: value` lines ending in CRLF or LF). */
export function parseStsPolicy(text: string): ParsedPolicy {
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: string | undefined;
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return { ok: false, reason: `malformed line "${line.slice(0, 80)}"` };
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "version") version ??= value;
    else if (key === "mode") mode ??= value;
    else if (key === "max_age") maxAge ??= value;
    else if (key === "mx") mx.push(value.toLowerCase().replace(/\.$/, ""));
  }
  if (version !== "STSv1") return { ok: false, reason: "version is not STSv1" };
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") {
    return { ok: false, reason: `bad mode ${JSON.stringify(mode ?? "")}` };
  }
  if (maxAge === undefined || !/^\d{1,10}$/.test(maxAge) || Number(maxAge) > MAX_AGE_LIMIT) {
    return { ok: false, reason: `bad max_age ${JSON.stringify(maxAge ?? "")}` };
  }
  if (mx.some((pattern) => !isMxPattern(pattern))) {
    return { ok: false, reason: "malformed mx pattern" };
  }
  if (mode !== "none" && mx.length === 0) return { ok: false, reason: "no mx lines" };
  return { ok: true, policy: { mode, maxAge: Number(maxAge), mx } };
}

/** A host name, optionally with one leading "*." label (§3.2). */
function isMxPattern(pattern: string): boolean {
  const name = pattern.startsWith("*.") ? pattern.slice(2) : pattern;
  return name !== "" &&
    name.split(".").every((label) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label));
}

/**
 * §4.1: an MX host matches a pattern when equal (case-insensitively, without
 * a trailing dot), or when the pattern is "*.rest" and the host is exactly
 * one more label in front of "rest" ("*.example.com" matches
 * "mx1.example.com", not "a.b.example.com" nor "example.com").
 */
export function mxMatchesPolicy(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  return patterns.some((pattern) => {
    if (!pattern.startsWith("*.")) return pattern === name;
    const suffix = pattern.slice(1);
    if (!name.endsWith(suffix)) return false;
    const first = name.slice(0, name.length - suffix.length);
    return first !== "" && !first.includes(".");
  });
}

/** The policy file as served (§3.2), CRLF line ends. */
export function formatStsPolicy(policy: StsPolicy): string {
  const lines = ["version: STSv1", `mode: ${policy.mode}`, ...policy.mx.map((mx) => `mx: ${mx}`)];
  lines.push(`max_age: ${policy.maxAge}`);
  return lines.map((line) => `${line}\r\n`).join("");
}

/**
 * The id for a served policy (§3.1: it must change when the policy does):
 * the first 20 hex digits of the SHA-256 of the policy text.
 */
export async function stsPolicyId(policyText: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(policyText));
  return Array.from(
    new Uint8Array(digest).slice(0, 10),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

/** The `_mta-sts` TXT record for a served policy (§3.1). */
export function formatStsRecord(id: string): string {
  return `v=STSv1; id=${id}`;
}
