/**
 * `ipmeprint` and `ipmetest IP` (docs/patches.md seed 001, the moreipme and
 * notipme patch): what qmd's remote role counts as this machine, so it never
 * delivers to itself (remote/ipme.ts). ipmeprint prints the ipme list in
 * qmail's order, one `ADDRESS/PREFIX` a line (127.0.0.0/8, 0.0.0.0, the
 * interfaces, then control/moreipme), then each control/notipme entry as
 * `not ADDRESS/PREFIX`; ipmetest prints `me` or `not me` for one address,
 * the longest mask deciding. Both read HOME's control files ($QMD_HOME, or
 * --home).
 */
import { parseCommand, usageError } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { loadAllControls } from "../../config/control.ts";
import { buildIpMe, type IpMe, normalizeIpv6 } from "../remote/ipme.ts";
import { parseIpv4 } from "../../config/remote.ts";
import { EXIT } from "../exit_codes.ts";

const HOME_OPTION = { home: { type: "string" } } as const;

function ipMeOf(home: string | undefined): IpMe {
  const controls = loadAllControls(() => loadRemoteControls(resolveHome(home)));
  return buildIpMe({ moreIpMe: controls.moreIpMe, notIpMe: controls.notIpMe });
}

/** `ipmeprint [--home DIR]`. */
export function printMain(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "ipmeprint",
    usage: "usage: ipmeprint [--home DIR]\nPrints the addresses qmd counts as this machine.",
    positionals: false,
    options: HOME_OPTION,
  }, args);
  if (!parsed.ok) return Promise.resolve(parsed.exitCode);
  const ipme = ipMeOf(parsed.values.home);
  for (const entry of ipme.entries) console.log(`${entry.address}/${entry.prefixLength}`);
  for (const entry of ipme.excluded) console.log(`not ${entry.address}/${entry.prefixLength}`);
  return Promise.resolve(EXIT.ok);
}

/** `ipmetest [--home DIR] IP`. */
export function testMain(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "ipmetest",
    usage: "usage: ipmetest [--home DIR] IP\nPrints me or not me for the address.",
    options: HOME_OPTION,
  }, args);
  if (!parsed.ok) return Promise.resolve(parsed.exitCode);
  const [ip, ...extra] = parsed.positionals;
  if (ip === undefined || extra.length > 0) {
    return Promise.resolve(usageError("ipmetest", "expected one IP address"));
  }
  const bare = ip.replace(/^\[(.*)\]$/, "$1");
  if (parseIpv4(bare) === undefined && normalizeIpv6(bare) === undefined) {
    return Promise.resolve(usageError("ipmetest", `${JSON.stringify(ip)} is not an IP address`));
  }
  console.log(ipMeOf(parsed.values.home).isMe(ip) ? "me" : "not me");
  return Promise.resolve(EXIT.ok);
}
