/**
 * What tcpserver decided before it ran qmail-smtpd, for one connection: the
 * tcprules match (HOME/tcp.smtp, after a PTR lookup when `=host` rules need
 * it), the environment layered for this client, and the resulting policy.
 */
import type { SmtpdControls, SmtpdPolicy } from "../../config/smtpd.ts";
import { resolveSmtpdPolicy } from "../../config/smtpd.ts";
import type { TcpRulesTable } from "../../config/tcprules.ts";
import type { ListenerKind } from "../ipc.ts";
import { reverseLookup } from "./reverse_dns.ts";

export type ClientPolicy =
  /** tcp.smtp says deny: drop the connection without a word, as tcpserver does. */
  | { admitted: false; ruleKey: string }
  | {
    admitted: true;
    /** The layered environment (process, listener, tcp.smtp), e.g. for QMAILQUEUE programs. */
    env: Record<string, string>;
    policy: SmtpdPolicy;
    /** TCPREMOTEHOST when a PTR lookup was made. */
    remoteHost?: string;
  };

export async function findClientPolicy(
  controls: SmtpdControls,
  rules: TcpRulesTable | undefined,
  processEnv: Record<string, string>,
  remoteIp: string,
  listener: ListenerKind,
): Promise<ClientPolicy> {
  const remoteHost = rules?.needsHost ? await reverseLookup(remoteIp) : undefined;
  const rule = rules?.lookup({ ip: remoteIp, host: remoteHost });
  if (rule?.deny) return { admitted: false, ruleKey: rule.key };
  const env: Record<string, string> = {
    ...processEnv,
    ...(listener === "smtps" ? { SMTPS: "1" } : {}),
    ...(rule?.env ?? {}),
  };
  return { admitted: true, env, policy: resolveSmtpdPolicy(controls, env), remoteHost };
}
