/**
 * This host's own MTA-STS policy (RFC 8461 §3.3), served before the
 * console's gate: GET /.well-known/mta-sts.txt with `Host: mta-sts.DOMAIN`
 * answers control/mtasts as a policy file (text/plain, CRLF lines) to
 * anyone; any other host name, or no control/mtasts, goes on to the console
 * as before (its login or 404). The file is read per request, as every
 * console page reads the home, so an edit needs no reload. The console must
 * then be reachable as https://mta-sts.DOMAIN/ (the listener on port 443
 * with a certificate for that name, or a proxy in front).
 */
import type { MiddlewareHandler } from "hono";
import { ControlError } from "../../config/control.ts";
import { loadOwnStsPolicy } from "../../config/mail_security.ts";
import { formatStsPolicy } from "../mta_sts/policy_text.ts";
import type { AdminContext, AdminEnv } from "./context.ts";

/** RFC 8461 §3.3: the policy's fixed path. */
export const MTA_STS_PATH = "/.well-known/mta-sts.txt";

/** The host name a request was made to, lower case, without the port. */
function requestHost(header: string | undefined): string {
  return (header ?? "").toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
}

/** The policy for `Host: mta-sts.*`; everything else passes on. */
export function serveMtaStsPolicy(context: AdminContext): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const host = requestHost(c.req.header("host"));
    if (!host.startsWith("mta-sts.") || c.req.method !== "GET") return await next();
    let policy;
    try {
      policy = loadOwnStsPolicy(context.home);
    } catch (error) {
      if (!(error instanceof ControlError)) throw error;
      // A broken file serves nothing: senders keep their cached policy (§3.3: no answer, no change).
      return c.text("policy unavailable\n", 503);
    }
    if (policy === null) return await next();
    return c.body(formatStsPolicy(policy), 200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
    });
  };
}
