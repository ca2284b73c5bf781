/**
 * `deno task bench --peers`: qmd beside the servers it means to beat, one
 * after another in one run, with the same load tool (smtp_load.ts), the
 * same 2 KiB message and the same sessions: Postfix (a private instance
 * delivering to a Maildir with its virtual agent), Haraka (one process,
 * a queue hook that writes and fsyncs a Maildir file) and smtp-sink (no
 * disk: the load tool's ceiling). A peer that is not installed, or cannot
 * run here, is skipped with the reason. Figures and ratios, never
 * assertions; every run is bounded in count and time.
 */
import { makeTempHome, startQmd } from "../harness.ts";
import { findOnPath, freePort, waitForGreeting } from "./remote.ts";
import { countNew, emptyNew, load, makeBenchHome, waitCount, waitDelivered } from "./smtp_load.ts";
import { type CpuSplit, startCpuMeter } from "./machine_cpu.ts";

/** Sessions at once, and messages sent at that many. */
const LOADS: [number, number][] = [[1, 300], [10, 2000], [50, 2000]];
const MAX_MS = 120_000;

interface RunningPeer {
  port: number;
  /** The Maildir it delivers to; undefined for a peer that stores nothing. */
  maildir?: string;
  /** Messages still in its queue (the relay run waits for none). */
  queued?: () => number;
  stop(): Promise<void>;
}

interface Peer {
  name: string;
  /** Why it cannot run here, or undefined. */
  missing(): Promise<string | undefined>;
  /** `relayPort`: also relay mail for RELAY_DOMAIN to 127.0.0.1 on that port. */
  start(relayPort?: number): Promise<RunningPeer>;
}

/** The domain the relay run sends to: routed to the sink, never delivered locally. */
const RELAY_DOMAIN = "relay.test";

/** Regular files under `dir`, at any depth (0 while it does not exist). */
function countFiles(dir: string): number {
  let count = 0;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory) count += countFiles(`${dir}/${entry.name}`);
      else count++;
    }
  } catch {
    // not there (yet)
  }
  return count;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Waits (at most 20 s) for the server's 220 on the port. */
async function greeted(port: number): Promise<void> {
  if (!await waitForGreeting(port, 20_000)) throw new Error(`no 220 on 127.0.0.1:${port}`);
}

async function stopChild(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await child.status;
}

async function command(program: string, args: string[]): Promise<void> {
  const result = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!result.success) {
    const text = new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout);
    throw new Error(`${program} ${args.join(" ")}: ${text.trim()}`);
  }
}

const qmd: Peer = {
  name: "qmd",
  missing: () => Promise.resolve(undefined),
  async start(relayPort?: number) {
    const { home, maildir } = await makeBenchHome();
    if (relayPort !== undefined) {
      await Deno.writeTextFile(`${home}/control/rcpthosts`, `${RELAY_DOMAIN}\n`, { append: true });
      await Deno.writeTextFile(
        `${home}/control/smtproutes`,
        `${RELAY_DOMAIN}:127.0.0.1:${relayPort}\n`,
      );
    }
    // QMD_BENCH_START_ARGS: more `qmd start` flags for an A/B run ("--delivery-nice 0").
    const extraArgs = (Deno.env.get("QMD_BENCH_START_ARGS") ?? "").split(" ").filter(Boolean);
    const running = await startQmd(home, { workers: navigator.hardwareConcurrency, extraArgs });
    return {
      port: running.port,
      maildir,
      queued: () => countFiles(`${home}/queue/info`),
      stop: async () => void await running.stop(),
    };
  },
};

const POSTFIX = "/usr/sbin/postfix";

/** A private Postfix instance: its own config, queue and Maildir, loopback only. */
const postfix: Peer = {
  name: "Postfix",
  async missing() {
    if (!await exists(POSTFIX)) return "not installed (apt-get install postfix)";
    if (Deno.uid() !== 0) return "a private instance needs root";
    return undefined;
  },
  async start(relayPort?: number) {
    const dir = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
    const port = freePort();
    for (const sub of ["conf", "queue", "data", "mail"]) {
      await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    }
    // Postfix's daemons run as postfix and nobody: they must reach into the temporary directory.
    await Deno.chmod(dir.replace(/\/home$/, ""), 0o755);
    await command("chown", ["postfix", `${dir}/data`]);
    await command("chown", ["nobody", `${dir}/mail`]);
    const uid = (await Deno.stat(`${dir}/mail`)).uid;
    await Deno.writeTextFile(
      `${dir}/conf/main.cf`,
      [
        "compatibility_level = 3.6",
        `queue_directory = ${dir}/queue`,
        `data_directory = ${dir}/data`,
        "myhostname = mx.example.test",
        "mydestination =",
        "local_recipient_maps =",
        "alias_maps =",
        "alias_database =",
        "inet_protocols = ipv4",
        "inet_interfaces = 127.0.0.1",
        "mynetworks = 127.0.0.0/8",
        "virtual_mailbox_domains = example.test",
        `virtual_mailbox_base = ${dir}/mail`,
        `virtual_mailbox_maps = texthash:${dir}/conf/vmailbox`,
        `virtual_uid_maps = static:${uid}`,
        `virtual_gid_maps = static:${uid}`,
        "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
        // One load generator opens up to 50 sessions from 127.0.0.1.
        "smtpd_client_connection_count_limit = 0",
        `maillog_file = ${dir}/maillog`,
        `maillog_file_prefixes = ${dir}`,
        "biff = no",
        ...(relayPort === undefined ? [] : [
          `relay_domains = ${RELAY_DOMAIN}`,
          `transport_maps = texthash:${dir}/conf/transport`,
        ]),
        "",
      ].join("\n"),
    );
    await Deno.writeTextFile(
      `${dir}/conf/transport`,
      `${RELAY_DOMAIN} smtp:[127.0.0.1]:${relayPort ?? 25}\n`,
    );
    await Deno.writeTextFile(
      `${dir}/conf/vmailbox`,
      "joe@example.test example.test/joe/Maildir/\n",
    );
    // Debian's master.cf with smtpd on our port and no chroot (the queue has no etc/ to chroot into).
    const master = (await Deno.readTextFile("/etc/postfix/master.cf")).split("\n").map((line) => {
      const fields = line.split(/\s+/);
      if (/^smtp\s+inet\s/.test(line)) return `127.0.0.1:${port} inet n - n - - smtpd`;
      if (/^[a-z0-9]/.test(line) && fields.length >= 8 && fields[4] === "y") {
        fields[4] = "n";
        return fields.join(" ");
      }
      return line;
    });
    await Deno.writeTextFile(`${dir}/conf/master.cf`, master.join("\n"));
    await command(POSTFIX, ["-c", `${dir}/conf`, "start"]).catch(async (error) => {
      // Postfix says why in its log, not on stderr.
      const log = await Deno.readTextFile(`${dir}/maillog`).catch(() => "");
      throw new Error(`${error.message} ${/fatal: .*/.exec(log)?.[0] ?? ""}`);
    });
    await greeted(port);
    const maildir = `${dir}/mail/example.test/joe/Maildir`;
    return {
      port,
      maildir,
      queued: () =>
        ["incoming", "active", "deferred", "maildrop"]
          .reduce((sum, queue) => sum + countFiles(`${dir}/queue/${queue}`), 0),
      stop: () => command(POSTFIX, ["-c", `${dir}/conf`, "stop"]),
    };
  },
};

/** Haraka's queue hook for the benchmark: the message to tmp/, fsync, rename into new/. */
const HARAKA_MAILDIR_PLUGIN = `const fs = require("node:fs");
let sequence = 0;
exports.hook_queue = function (next, connection) {
  const dir = process.env.BENCH_MAILDIR;
  const name = Date.now() + "." + process.pid + "_" + sequence++ + ".bench";
  const temporary = dir + "/tmp/" + name;
  const out = fs.createWriteStream(temporary);
  const failed = () => next(DENYSOFT);
  out.on("error", failed);
  out.on("close", () => fs.open(temporary, "r+", (error, fd) => {
    if (error) return failed();
    fs.fsync(fd, (error) => fs.close(fd, () => {
      if (error) return failed();
      fs.rename(temporary, dir + "/new/" + name, (error) => error ? failed() : next(OK));
    }));
  }));
  connection.transaction.message_stream.pipe(out);
};
`;

const haraka: Peer = {
  name: "Haraka",
  missing() {
    return Promise.resolve(
      findOnPath("haraka") === undefined ? "not installed (npm install -g Haraka)" : undefined,
    );
  },
  async start() {
    const dir = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
    const maildir = `${dir}/Maildir`;
    for (const sub of ["tmp", "new", "cur"]) {
      await Deno.mkdir(`${maildir}/${sub}`, { recursive: true });
    }
    await command("haraka", ["-i", `${dir}/haraka`]);
    const config = `${dir}/haraka/config`;
    const port = freePort();
    await Deno.writeTextFile(`${config}/smtp.ini`, `listen=127.0.0.1:${port}\n`);
    await Deno.writeTextFile(`${config}/plugins`, "rcpt_to.in_host_list\nbench_maildir\n");
    await Deno.writeTextFile(`${config}/host_list`, "example.test\n");
    await Deno.writeTextFile(`${config}/log.ini`, "[main]\nlevel=warn\n");
    await Deno.writeTextFile(`${dir}/haraka/plugins/bench_maildir.js`, HARAKA_MAILDIR_PLUGIN);
    const child = new Deno.Command("haraka", {
      args: ["-c", `${dir}/haraka`],
      env: { BENCH_MAILDIR: maildir },
      stdout: "null",
      stderr: "null",
    }).spawn();
    await greeted(port);
    return {
      port,
      maildir,
      stop: () => stopChild(child),
    };
  },
};

const SMTP_SINK = "/usr/sbin/smtp-sink";

const smtpSink: Peer = {
  name: "smtp-sink",
  async missing() {
    return await exists(SMTP_SINK) ? undefined : "not installed (it comes with postfix)";
  },
  async start() {
    const port = freePort();
    // As root, smtp-sink wants a user to run as.
    const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
    const child = new Deno.Command(SMTP_SINK, {
      args: [...user, `127.0.0.1:${port}`, "256"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await greeted(port);
    return {
      port,
      stop: () => stopChild(child),
    };
  },
};

interface Cell {
  accepted: number;
  endToEnd?: number;
  /** Median CPU a message (ms), over the stretch until the last message was stored. */
  cpu?: CpuSplit;
}

/** The median of each part of the splits, per message (`counts[i]` messages in round i). */
function cpuPerMessage(splits: (CpuSplit | undefined)[], counts: number[]): CpuSplit | undefined {
  if (splits.some((split) => split === undefined)) return undefined;
  const per = (part: keyof CpuSplit) =>
    median(splits.map((split, i) => split![part] / Math.max(1, counts[i])));
  return { serverMs: per("serverMs"), loadToolMs: per("loadToolMs") };
}

function cpuText(cpu: CpuSplit | undefined): string {
  return cpu === undefined ? "n/a" : `${cpu.serverMs.toFixed(2)} + ${cpu.loadToolMs.toFixed(2)}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One peer through every load, `rounds` times each; the median rate of each. */
async function measure(peer: RunningPeer, rounds: number): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const [sessions, count] of LOADS) {
    const accepted: number[] = [];
    const endToEnd: number[] = [];
    const splits: (CpuSplit | undefined)[] = [];
    const stored: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Each round's looks read only that round's messages (see emptyNew).
      if (peer.maildir !== undefined) emptyNew(peer.maildir);
      const before = peer.maildir === undefined ? 0 : countNew(peer.maildir);
      const started = performance.now();
      const cpu = startCpuMeter();
      const result = await load(peer.port, sessions, count, MAX_MS);
      accepted.push(result.accepted / result.seconds);
      let done = result.accepted;
      if (peer.maildir !== undefined) {
        const after = await waitDelivered(peer.maildir, before + result.accepted, MAX_MS);
        endToEnd.push((after - before) / ((performance.now() - started) / 1000));
        done = after - before;
      }
      splits.push(cpu());
      stored.push(done);
    }
    cells.push({
      accepted: median(accepted),
      endToEnd: endToEnd.length > 0 ? median(endToEnd) : undefined,
      cpu: cpuPerMessage(splits, stored),
    });
  }
  return cells;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? "n/a" : `${(a / b).toFixed(2)}x`;
}

/** The --peers section of `deno task bench`: one line per peer, then qmd's ratios. */
export async function peersBench(rounds: number, only: string[] = []): Promise<string[]> {
  const rows = [
    `peers: 2 KiB messages, one connection each, sessions ${
      LOADS.map(([sessions, count]) => `${sessions} (${count} messages)`).join(", ")
    }; median of ${rounds}; accepted/s / end to end (in the Maildir)/s; CPU ms a message,`,
    "  server + load tool (the machine's busy time from /proc/stat until the last message is stored)",
  ];
  const results = new Map<string, Cell[]>();
  const chosen = [qmd, postfix, haraka, smtpSink].filter((peer) =>
    only.length === 0 || only.includes(peer.name.toLowerCase())
  );
  for (const peer of chosen) {
    const reason = await peer.missing();
    if (reason !== undefined) {
      rows.push(`  ${peer.name.padEnd(10)} skipped: ${reason}`);
      continue;
    }
    let running: RunningPeer;
    try {
      running = await peer.start();
    } catch (error) {
      rows.push(`  ${peer.name.padEnd(10)} skipped: ${(error as Error).message.split("\n")[0]}`);
      continue;
    }
    try {
      const cells = await measure(running, rounds);
      results.set(peer.name, cells);
      rows.push(
        `  ${peer.name.padEnd(10)} ` +
          cells.map((cell, i) =>
            `${LOADS[i][0]}: ${cell.accepted.toFixed(0)}` +
            (cell.endToEnd === undefined ? "" : ` / ${cell.endToEnd.toFixed(0)}`)
          ).join("   "),
        `  ${"".padEnd(10)} CPU ` +
          cells.map((cell, i) => `${LOADS[i][0]}: ${cpuText(cell.cpu)}`).join("   "),
      );
    } finally {
      await running.stop();
    }
  }
  const ours = results.get("qmd");
  for (const [i, [sessions]] of LOADS.entries()) {
    const peers = ["Postfix", "Haraka"].filter((name) => results.has(name));
    if (ours === undefined || peers.length === 0) break;
    const best = Math.max(...peers.map((name) => results.get(name)![i].endToEnd ?? 0));
    rows.push(
      `  qmd / best of ${peers.join(" and ")} end to end at ${sessions}: ${
        ratio(ours[i].endToEnd, best)
      }` + (sessions === 1 && results.has("Postfix")
        ? `; qmd / Postfix at 1: ${ratio(ours[i].endToEnd, results.get("Postfix")![i].endToEnd)}`
        : ""),
    );
  }
  const sink = results.get("smtp-sink");
  if (ours !== undefined && sink !== undefined) {
    rows.push(`  qmd accepted / smtp-sink at 10: ${ratio(ours[1].accepted, sink[1].accepted)}`);
  }
  return rows;
}

/**
 * The relay run (`--relay`): qmd and Postfix take mail for RELAY_DOMAIN and
 * pass it on to smtp-sink through a route (qmd's smtproutes, Postfix's
 * transport map), 2,000 messages at 10 and at 50 sessions; end to end is
 * from the first message sent until the server's queue is empty.
 */
export async function relayBench(rounds: number, only: string[] = []): Promise<string[]> {
  const rows = [
    `relay: 2 KiB messages to ${RELAY_DOMAIN} routed to smtp-sink, one connection each; median of ${rounds}; accepted/s / relayed (queue empty)/s;`,
    "  CPU ms a message, server (the sink's included) + load tool",
  ];
  const sinkMissing = await smtpSink.missing();
  if (sinkMissing !== undefined) return [...rows, `  skipped: smtp-sink ${sinkMissing}`];
  const sink = await smtpSink.start();
  const results = new Map<
    string,
    { accepted: number; relayed: number; cpu: CpuSplit | undefined }[]
  >();
  try {
    const named = [qmd, postfix].filter((peer) =>
      only.length === 0 || only.includes(peer.name.toLowerCase())
    );
    for (const peer of named) {
      const reason = await peer.missing();
      if (reason !== undefined) {
        rows.push(`  ${peer.name.padEnd(10)} skipped: ${reason}`);
        continue;
      }
      const running = await peer.start(sink.port);
      try {
        const cells = [];
        for (const sessions of [10, 50]) {
          const accepted: number[] = [];
          const relayed: number[] = [];
          const splits: (CpuSplit | undefined)[] = [];
          const counts: number[] = [];
          for (let round = 0; round < rounds; round++) {
            const started = performance.now();
            const cpu = startCpuMeter();
            const result = await load(
              running.port,
              sessions,
              2000,
              MAX_MS,
              `bench@${RELAY_DOMAIN}`,
            );
            accepted.push(result.accepted / result.seconds);
            // Empty queue: every accepted message was passed on (the sink takes them all).
            await waitCount(() => running.queued!() === 0 ? 1 : 0, 1, MAX_MS);
            relayed.push(result.accepted / ((performance.now() - started) / 1000));
            splits.push(cpu());
            counts.push(result.accepted);
          }
          cells.push({
            accepted: median(accepted),
            relayed: median(relayed),
            cpu: cpuPerMessage(splits, counts),
          });
        }
        results.set(peer.name, cells);
        rows.push(
          `  ${peer.name.padEnd(10)} ` +
            cells.map((cell, i) =>
              `${[10, 50][i]}: ${cell.accepted.toFixed(0)} / ${cell.relayed.toFixed(0)}`
            ).join("   "),
          `  ${"".padEnd(10)} CPU ` +
            cells.map((cell, i) => `${[10, 50][i]}: ${cpuText(cell.cpu)}`).join("   "),
        );
      } finally {
        await running.stop();
      }
    }
  } finally {
    await sink.stop();
  }
  const ours = results.get("qmd");
  const theirs = results.get("Postfix");
  if (ours !== undefined && theirs !== undefined) {
    rows.push(
      `  qmd / Postfix relayed: ${ratio(ours[0].relayed, theirs[0].relayed)} at 10, ${
        ratio(ours[1].relayed, theirs[1].relayed)
      } at 50`,
    );
  }
  return rows;
}
