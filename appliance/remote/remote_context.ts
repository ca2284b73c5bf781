/**
 * Everything one remote delivery needs, built from the home's controls: the
 * routes and limits (config/remote.ts), the resolver (control/dnsservers),
 * the tcpto table, ipme, the shared connection pool, the clock, the
 * randomness for equal MX preferences and the DKIM keys (config/dkim.ts).
 */
import { type DkimKey, loadDkimKeys } from "../../config/dkim.ts";
import { loadRemoteControls, type RemoteControls } from "../../config/remote.ts";
import { Resolver } from "../dns/resolver.ts";
import { type QueueLayout, queueLayoutFor } from "../queue/layout.ts";
import type { ConnectionPool } from "./connection_pool.ts";
import { buildIpMe } from "./ipme.ts";
import { buildRemoteSecurity, type RemoteSecurity } from "./remote_security.ts";
import type { SmtpConnection } from "./pooled_connection.ts";
import { tcptoFile, type TcptoTable } from "./tcpto_table.ts";

/** Addresses of this machine (ipme.ts behind it). */
export interface IpMe {
  isMe(ip: string): boolean;
}

export interface RemoteContext {
  home: string;
  layout: QueueLayout;
  controls: RemoteControls;
  resolver: Resolver;
  tcpto: TcptoTable;
  ipme: IpMe;
  pool: ConnectionPool<SmtpConnection>;
  /** Unix ms: the BATV day (tcpto has its own clock). */
  now: () => number;
  /** [0, 1) for shuffling equal MX preferences. */
  random: () => number;
  /** control/log/remote_fd: log the session (commands and replies; never DATA or AUTH). */
  logSession?: boolean;
  /** control/dkim/DOMAIN/SELECTOR.key: the keys outgoing mail is signed with (dkim_sign.ts). */
  dkimKeys?: readonly DkimKey[];
  /** MTA-STS and verified TLS (remote_security.ts); undefined: none of it. */
  security?: RemoteSecurity;
}

/**
 * Everything a delivery needs, from the home's controls: the routes and
 * limits, the resolver (control/dnsservers), the tcpto table and ipme.
 */
export function buildRemoteContext(
  home: string,
  pool: ConnectionPool<SmtpConnection>,
): RemoteContext {
  const controls = loadRemoteControls(home);
  const layout = queueLayoutFor(home);
  const resolver = new Resolver({ home });
  return {
    home,
    layout,
    controls,
    resolver,
    tcpto: tcptoFile(layout.tcpto, () => Math.floor(Date.now() / 1000), Deno.pid),
    ipme: buildIpMe({ moreIpMe: controls.moreIpMe, notIpMe: controls.notIpMe }),
    pool,
    now: () => Date.now(),
    random: Math.random,
    logSession: controls.logSession,
    dkimKeys: loadDkimKeys(home),
    security: buildRemoteSecurity(home, resolver),
  };
}
