/**
 * What remote delivery knows about other domains' transport security, kept
 * for the life of the remote role: the MTA-STS policy cache (mta_sts_cache.ts),
 * DANE's validating resolver (dane.ts, control/daneresolvers) and the trust
 * anchors of verified TLS (the system roots plus control/remoteca.pem).
 */
import { loadMailSecurityControls } from "../../config/mail_security.ts";
import type { Resolver } from "../dns/resolver.ts";
import { systemRootCertificates } from "./client_socket.ts";
import { mailSecurityDirectory, StsPolicies } from "./mta_sts_cache.ts";
import { DaneResolver, loadDaneResolvers } from "./dane.ts";
import { TlsReportBook } from "./tls_report.ts";

export interface RemoteSecurity {
  /** Undefined when control/mtastsremote is 0. */
  stsPolicies?: StsPolicies;
  /** Undefined without control/daneresolvers. */
  dane?: DaneResolver;
  /** TLS-RPT counts (RFC 8460), kept always. */
  tlsReports: TlsReportBook;
  /** control/tlsrpt: mail the daily reports. */
  sendTlsReports: boolean;
  /** The trust anchors of verified TLS (PEM). */
  trustedCas(): string[];
}

export interface RemoteSecurityOptions {
  /** The HTTPS port of policy fetches (443; tests only). */
  httpsPort?: number;
  now?: () => number;
}

/** control/remoteca.pem, when it exists. */
function readRemoteCa(home: string): string | undefined {
  try {
    return Deno.readTextFileSync(`${home}/control/remoteca.pem`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The remote role's security state, from the home's controls. */
export function buildRemoteSecurity(
  home: string,
  resolver: Resolver,
  options: RemoteSecurityOptions = {},
): RemoteSecurity {
  const controls = loadMailSecurityControls(home);
  const extra = readRemoteCa(home);
  let cas: string[] | undefined;
  // Read when first needed: most deliveries verify nothing.
  const trustedCas = () => {
    if (cas === undefined) {
      const roots = systemRootCertificates();
      cas = extra === undefined ? roots : [...roots, extra];
    }
    return cas;
  };
  const daneResolvers = loadDaneResolvers(home);
  return {
    trustedCas,
    tlsReports: new TlsReportBook(`${mailSecurityDirectory(home)}/tlsrpt`),
    sendTlsReports: controls.tlsRpt,
    ...(daneResolvers.length === 0 ? {} : { dane: new DaneResolver(daneResolvers) }),
    stsPolicies: controls.mtaStsRemote
      ? new StsPolicies({
        resolver,
        file: `${mailSecurityDirectory(home)}/mtasts.json`,
        now: options.now ?? Date.now,
        ca: trustedCas,
        port: options.httpsPort,
      })
      : undefined,
  };
}
