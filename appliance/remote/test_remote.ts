/**
 * Remote delivery on a temporary home for the remote/ tests: a real queue
 * (makeTestQueue), a fake DNS zone (tests/fakes/fake_dns.ts), fake MXs on
 * loopback (tests/fakes/fake_mx.ts), and the context deliverRemote takes.
 */
import { type FakeZone, startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { type FakeMx, type FakeMxOptions, startFakeMx } from "../../tests/fakes/fake_mx.ts";
import { loadRemoteControls, type RemoteControls } from "../../config/remote.ts";
import { Resolver } from "../dns/resolver.ts";
import type { DeliveryJob } from "../ipc.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { ConnectionPool } from "./connection_pool.ts";
import { buildIpMe } from "./ipme.ts";
import type { SmtpConnection } from "./pooled_connection.ts";
import type { RemoteContext } from "./remote_context.ts";
import { tcptoFile } from "./tcpto_table.ts";

/** A temporary home with a queue, a fake DNS zone and a remote context for it. */
export interface TestRemote {
  home: string;
  ctx: RemoteContext;
  job(recipient: string, body?: string | Uint8Array, sender?: string): Promise<DeliveryJob>;
  close(): Promise<void>;
}

let nextId = 1000;

/**
 * A remote context on a temporary home: every MX of `zone` is reached on
 * `port` (an empty-key smtproutes entry with no relay), 127.0.0.0/8 is not
 * this machine (notipme) so loopback fakes are eligible, idle connections
 * last 2 s. `configure` runs before the context is made.
 */
export async function makeTestRemote(
  zone: FakeZone,
  port: number,
  configure: (home: string, controls: RemoteControls) => void = () => {},
): Promise<TestRemote> {
  const home = await Deno.makeTempDir({ prefix: "qmd-remote-" });
  const layout = makeTestQueue(home);
  Deno.mkdirSync(`${home}/control/tlshosts`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/me`, "qmd.test\n");
  const dns = await startFakeDns(zone);
  const controls = loadRemoteControls(home);
  // Every MX listens on the fake's port: an empty-key route with no relay.
  controls.smtproutes.push({ key: "", relay: "", port, line: 99 });
  configure(home, controls);
  const pool = new ConnectionPool<SmtpConnection>({ idleMs: 2000 });
  const ctx: RemoteContext = {
    home,
    layout,
    controls,
    resolver: new Resolver({ nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }] }),
    tcpto: tcptoFile(layout.tcpto, () => Math.floor(Date.now() / 1000), 7),
    ipme: buildIpMe({ moreIpMe: [], notIpMe: [{ address: "127.0.0.0", prefixLength: 8 }] }, []),
    pool,
    now: () => Date.now(),
    random: Math.random,
  };
  return {
    home,
    ctx,
    async job(recipient, body = "Subject: hi\n\nhello\n.dot\n", sender = "a@qmd.test") {
      const id = nextId++;
      const mess = layout.messName(id);
      await Deno.writeFile(
        layout.messFromName(mess),
        typeof body === "string" ? new TextEncoder().encode(body) : body,
      );
      return { delivery: id % 100, id: String(id), mess, sender, recipient };
    },
    async close() {
      pool.close();
      await dns.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

/** Runs `run` with fake MXs started from `options` (later ones on the first one's port), then stops them. */
export async function withMx(
  options: FakeMxOptions[],
  run: (mxs: FakeMx[]) => Promise<void>,
): Promise<void> {
  const mxs: FakeMx[] = [];
  try {
    for (const option of options) {
      mxs.push(await startFakeMx({ ...option, port: option.port ?? mxs[0]?.port ?? 0 }));
    }
    await run(mxs);
  } finally {
    for (const mx of mxs) await mx.close();
  }
}

/** The zone most tests deliver in. */
export const ZONE: FakeZone = {
  "example.test": {
    mx: [{ preference: 10, exchange: "mx1.example.test" }, {
      preference: 20,
      exchange: "mx2.example.test",
    }],
  },
  "mx1.example.test": { a: ["127.0.0.2"] },
  "mx2.example.test": { a: ["127.0.0.3"] },
  "amx.test": { a: ["127.0.0.2"] },
  "nomx.test": { nxdomain: true },
  "nullmx.test": { mx: [{ preference: 0, exchange: "." }] },
  "servfail.test": { servfail: true },
  "refused.test": { refused: true },
  "badmx.test": { mx: [{ preference: 10, exchange: "servfail.test" }] },
};
