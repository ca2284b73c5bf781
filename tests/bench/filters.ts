/**
 * Issue 13's part of `deno task bench` (the anti-spam and policy checks):
 * figures, never assertions. Accepted messages per second at 10 sessions, one
 * connection per message, on three temporary homes:
 *  - plain: `qmd init` and one mailbox, no list, no signatures;
 *  - DNS-free checks: regex and plain badhelo, badmailfrom, badmailto and
 *    badrcptto lists of realistic size, realrcptto over 10,000 mailboxes
 *    (users/assign compiled by `qmd newu`), control/signatures, and a MIME
 *    message with an attachment for the signature scan;
 *  - the same with DNSBL (control/rblsmtpd) and SPF (control/spfbehavior)
 *    against a fake resolver on loopback (tests/fakes/fake_dns.ts).
 * The three run side by side and are measured in turns (measureInTurns).
 * Each prints its rate and its ratio to plain (target: the DNS-free checks
 * cost under 15%), and which checks decided in the measured sessions, read
 * from the decision trace (HOME/log/trace), so a run shows what it measured:
 * the checks are the ones registered in appliance/policy/ at the time.
 * Only loopback addresses; every loop bounded in count and time.
 * `deno run -A tests/bench/filters.ts` runs just this part.
 */
import { makeTempHome, runQmd, SmtpClient, startQmd } from "../harness.ts";
import { type FakeZone, startFakeDns } from "../fakes/fake_dns.ts";
import { listTraceFiles, readLines } from "../../appliance/trace/store.ts";
import { parseTraceLine } from "../../appliance/trace/trace_format.ts";

const TARGET_COST = 0.15;
const ME = "mx.example.test";
const USER = "joe@example.test";
const SENDER = "bench@bench-sender.example";
const HELO = "client.bench-sender.example";
const MAILBOXES = 10_000;
const SESSIONS = 10;
const MESSAGES = 2000;
const MAX_MS = 60_000;
const ROUNDS = 6;

/** A 2 KiB-ish MIME message with a PDF attachment: the signature scan reads its first line. */
const MESSAGE = [
  `From: <${SENDER}>`,
  `To: <${USER}>`,
  "Subject: bench",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="b1"',
  "",
  "--b1",
  "Content-Type: text/plain",
  "",
  ...Array.from({ length: 8 }, () => "x".repeat(72)),
  "--b1",
  'Content-Type: application/pdf; name="a.pdf"',
  "Content-Transfer-Encoding: base64",
  "",
  ...Array.from({ length: 12 }, (_, i) => `JVBERi0xLjQK${"QUFB".repeat(15)}${i}`.slice(0, 76)),
  "--b1--",
  "",
].join("\r\n") + ".\r\n";

/** `count` lines made by `line(i)`. */
function lines(count: number, line: (i: number) => string): string {
  return Array.from({ length: count }, (_, i) => line(i)).join("\n");
}

/**
 * The DNS-free lists, of a size a busy site keeps (none matches the bench's
 * client, sender or recipient): plain entries and regular expressions mixed.
 */
const DNS_FREE_CONTROLS: Record<string, string> = {
  badhelo: lines(150, (i) => `spam-helo-${i}.example`) + "\n" +
    lines(50, (i) => `^[a-z]+${i}\\.dyn\\.example$`),
  badmailfrom: lines(1500, (i) => (i % 2 ? `@spam-${i}.example` : `user${i}@junk-${i}.example`)) +
    "\n" + lines(500, (i) => `^[a-z0-9.]+@mailer${i}\\.spam\\.example$`),
  badmailto: lines(200, (i) => `^[a-z]+${i}@victim\\.example$`),
  badrcptto: lines(1000, (i) => `nobody${i}@${ME}`),
  signatures: [
    "# Windows executables seen in active virii (seed 002)",
    "TVqQAAMAA",
    "TVpQAAIAA",
    "TVpAALQAc",
    "TVpyAXkAX",
    "TVrmAU4AA",
    "TVrhARwAk",
    "TVoFAQUAA",
    "TVoAAAQAA",
    "TVoIARMAA",
    "TVouARsAA",
    "TVrQAT8AA",
  ].join("\n"),
};

/** A fresh home for `qmd start` with one mailbox and `controls` written. */
async function prepareHome(controls: Record<string, string>): Promise<string> {
  const home = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
  const init = await runQmd(["init", "--home", home, "--me", ME]);
  if (init.code !== 0) throw new Error(`qmd init failed: ${init.stderr}`);
  const add = await runQmd(["user", "add", USER, "--password-stdin", "--home", home], {
    stdin: "bench password 13\n",
  });
  if (add.code !== 0) throw new Error(`qmd user add failed: ${add.stderr}`);
  for (
    const [name, value] of Object.entries({
      concurrencyincoming: "1000",
      concurrencyperip: "1000",
      ...controls,
    })
  ) {
    await Deno.writeTextFile(`${home}/control/${name}`, `${value}\n`);
  }
  return home;
}

/** 10,000 local mailboxes in users/assign (one shared home: realrcptto looks them up). */
async function addMailboxes(home: string): Promise<void> {
  const users = `${home}/bench-users`;
  await Deno.mkdir(users, { recursive: true });
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  const assign = lines(MAILBOXES, (i) => `=user${i}:bench:${uid}:${gid}:${users}:-:user${i}:`);
  await Deno.writeTextFile(`${home}/users/assign`, `${assign}\n.\n`);
  const newu = await runQmd(["newu", "--home", home]);
  if (newu.code !== 0) throw new Error(`qmd newu failed: ${newu.stderr}`);
}

/** One message on a new connection, pipelined; true when the reply to the dot is 250. */
async function messageSession(port: number): Promise<boolean> {
  const client = await SmtpClient.connect(port);
  try {
    if (!(await client.reply()).startsWith("220")) return false;
    if (!(await client.command(`EHLO ${HELO}`)).startsWith("250")) return false;
    await client.send(`MAIL FROM:<${SENDER}>\r\nRCPT TO:<${USER}>\r\nDATA\r\n`);
    for (let i = 0; i < 3; i++) {
      const reply = await client.reply();
      if (!reply.startsWith(i === 2 ? "354" : "250")) return false;
    }
    await client.send(MESSAGE + "QUIT\r\n");
    return (await client.reply()).startsWith("250");
  } finally {
    client.close();
  }
}

interface Rate {
  accepted: number;
  refused: number;
  seconds: number;
}

async function load(port: number, count: number, maxMs: number): Promise<Rate> {
  let next = 0;
  const rate = { accepted: 0, refused: 0, seconds: 0 };
  const started = performance.now();
  await Promise.all(Array.from({ length: SESSIONS }, async () => {
    while (next < count && performance.now() - started < maxMs) {
      next++;
      if (await messageSession(port).catch(() => false)) rate.accepted++;
      else rate.refused++;
    }
  }));
  rate.seconds = (performance.now() - started) / 1000;
  return rate;
}

function perSecond(rate: Rate): number {
  return rate.accepted / rate.seconds;
}

/** Decisions per check (and their verdicts) in the home's decision trace. */
async function tracedChecks(home: string): Promise<string> {
  const counts = new Map<string, number>();
  for (const { path } of listTraceFiles(`${home}/log/trace`)) {
    for await (const line of readLines(path)) {
      for (const decision of parseTraceLine(line)?.decisions ?? []) {
        const key = `${decision.check} ${decision.verdict}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  if (counts.size === 0) return "no check decided anything (none registered, or no trace)";
  return [...counts].sort().map(([key, count]) => `${key} ${count}`).join(", ");
}

/**
 * Starts qmd on every home, warms each, then measures them in turns (ROUNDS
 * rounds of MESSAGES / ROUNDS messages each), so that a machine busy with
 * something else for a while slows every scenario alike; stops them all.
 */
async function measureInTurns(homes: string[]): Promise<{ rate: Rate; checks: string }[]> {
  const running = [];
  try {
    for (const home of homes) {
      running.push(await startQmd(home, { workers: navigator.hardwareConcurrency }));
    }
    for (const qmd of running) await load(qmd.port, 50, MAX_MS);
    const rates = homes.map(() => ({ accepted: 0, refused: 0, seconds: 0 }));
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with the next scenario: the one measured after another shares the
      // machine with that one's deliveries, and every scenario takes each place in turn.
      for (let turn = 0; turn < running.length; turn++) {
        const i = (round + turn) % running.length;
        const rate = await load(running[i].port, MESSAGES / ROUNDS, MAX_MS / ROUNDS);
        rates[i].accepted += rate.accepted;
        rates[i].refused += rate.refused;
        rates[i].seconds += rate.seconds;
      }
    }
    for (const qmd of running.splice(0)) await qmd.stop();
    return await Promise.all(
      homes.map(async (home, i) => ({ rate: rates[i], checks: await tracedChecks(home) })),
    );
  } finally {
    for (const qmd of running) await qmd.stop();
  }
}

function describe(rate: Rate): string {
  return `${rate.accepted} accepted (${rate.refused} not) in ${rate.seconds.toFixed(2)} s = ${
    perSecond(rate).toFixed(0)
  }/s`;
}

/** Runs issue 13's measurements; returns the rows to print (without the leading indent). */
export async function filtersBench(): Promise<string[]> {
  const rows: string[] = [];
  const homes: string[] = [];
  const dns = await startFakeDns({
    // SPF: the bench client (127.0.0.1) may send for the sender's domain.
    "bench-sender.example": { a: ["127.0.0.1"], txt: ["v=spf1 ip4:127.0.0.0/8 -all"] },
    "client.bench-sender.example": { a: ["127.0.0.1"] },
    // DNSBL: 127.0.0.1 is not listed (1.0.0.127.bl.bench.example is NXDOMAIN); 127.0.0.2 is.
    "2.0.0.127.bl.bench.example": { a: ["127.0.0.2"] },
  } as FakeZone);
  try {
    // Plain: every check off (realrcptto and reqbrackets are on by default).
    const plainHome = await prepareHome({ realrcptto: "0", reqbrackets: "0" });
    const freeHome = await prepareHome(DNS_FREE_CONTROLS);
    const dnsHome = await prepareHome({
      ...DNS_FREE_CONTROLS,
      dnsservers: `127.0.0.1:${dns.port}`,
      rblsmtpd: "-r bl.bench.example",
      spfbehavior: "3",
    });
    homes.push(plainHome, freeHome, dnsHome);
    // The same 10,000 mailboxes everywhere: local delivery reads users/assign whatever the checks.
    await addMailboxes(plainHome);
    await addMailboxes(freeHome);
    await addMailboxes(dnsHome);
    const [plain, free, withDns] = await measureInTurns(homes);
    rows.push(
      `checks, plain (all off, same ${MAILBOXES} mailboxes), ${SESSIONS} sessions: ${
        describe(plain.rate)
      }`,
    );
    rows.push(`  decided: ${plain.checks}`);
    const freeCost = 1 - perSecond(free.rate) / perSecond(plain.rate);
    rows.push(
      `checks, DNS-free (regex lists, realrcptto over ${MAILBOXES} mailboxes, signatures): ${
        describe(free.rate)
      }; ratio to plain ${(perSecond(free.rate) / perSecond(plain.rate)).toFixed(2)}, cost ${
        (freeCost * 100).toFixed(1)
      }% (target < ${TARGET_COST * 100}%, ratio ${(freeCost / TARGET_COST).toFixed(2)})`,
    );
    rows.push(`  decided: ${free.checks}`);
    rows.push(
      `checks, DNS-free + DNSBL + SPF (loopback resolver): ${describe(withDns.rate)}; ` +
        `ratio to plain ${(perSecond(withDns.rate) / perSecond(plain.rate)).toFixed(2)}, ` +
        `${dns.queries.length} DNS queries`,
    );
    rows.push(`  decided: ${withDns.checks}`);
  } finally {
    await dns.close();
    for (const home of homes) {
      await Deno.remove(home.replace(/\/home$/, ""), { recursive: true }).catch(() => {});
    }
  }
  return rows;
}

if (import.meta.main) {
  console.log(
    `qmd bench, checks (${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno})`,
  );
  for (const row of await filtersBench()) console.log(`  ${row}`);
}
