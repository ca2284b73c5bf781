/**
 * qmail-smtpd's controls (qmail-formats.md §8.1, §9), read once per reload and
 * returned as plain data so they can cross postMessage.
 */
import {
  ControlError,
  readControlLine,
  readControlLines,
  readControlList,
  readControlNumber,
} from "./control.ts";

export interface SmtpdControls {
  me: string;
  /** control/smtpgreeting lines, else [me]. */
  greeting: string[];
  /** control/localiphost, else me. */
  localIpHost: string;
  /** control/rcpthosts entries (lowercased); null when the file is absent. */
  rcptHosts: string[] | null;
  /** Path of control/morercpthosts.cdb when it exists. */
  moreRcptHostsCdb: string | null;
  badMailFrom: string[];
  /** Bytes; 0 = unlimited. DATABYTES in the environment overrides the file. */
  databytes: number;
  /** Seconds per read and write; ≤ 0 becomes 1 as in qmail. */
  timeoutSeconds: number;
}

export function loadSmtpdControls(
  home: string,
  env: Record<string, string | undefined>,
): SmtpdControls {
  const me = readControlLine(home, "me");
  const greeting = readControlLines(home, "smtpgreeting") ?? (me === undefined ? undefined : [me]);
  if (greeting === undefined || greeting.length === 0) {
    throw new ControlError(
      `${home}/control/me`,
      0,
      "missing: qmail-smtpd needs control/me or control/smtpgreeting",
    );
  }
  const rcptHosts = readControlList(home, "rcpthosts")?.map((entry) => entry.value.toLowerCase()) ??
    null;
  const morePath = `${home}/control/morercpthosts.cdb`;
  let moreRcptHostsCdb: string | null = null;
  try {
    if (Deno.statSync(morePath).isFile) moreRcptHostsCdb = morePath;
  } catch {
    moreRcptHostsCdb = null;
  }
  let databytes = readControlNumber(home, "databytes", 0);
  if (env.DATABYTES !== undefined && /^\d+$/.test(env.DATABYTES.trim())) {
    databytes = Number(env.DATABYTES.trim());
  }
  let timeoutSeconds = readControlNumber(home, "timeoutsmtpd", 1200);
  if (timeoutSeconds <= 0) timeoutSeconds = 1;
  return {
    me: me ?? greeting[0].split(" ")[0],
    greeting,
    localIpHost: readControlLine(home, "localiphost") ?? me ?? "",
    rcptHosts,
    moreRcptHostsCdb,
    badMailFrom: readControlList(home, "badmailfrom")?.map((entry) => entry.value) ?? [],
    databytes,
    timeoutSeconds,
  };
}
