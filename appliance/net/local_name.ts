/**
 * This host's name for the filter lookups that speak for it: the Received-SPF
 * comment (spf_lookup.ts) and the HELO of mfcheck 2's callback
 * (callback_lookup.ts). control/me, as qmail-smtpd names itself; without a
 * home or a control/me, the system's host name. Read once per home.
 */
import { readControlLine } from "../../config/control.ts";

const names = new Map<string, string>();

export function localName(home: string | undefined): string {
  const key = home ?? "";
  let name = names.get(key);
  if (name === undefined) {
    name = (home === undefined ? undefined : readControlLine(home, "me")) ?? systemName();
    names.set(key, name);
  }
  return name;
}

function systemName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}
