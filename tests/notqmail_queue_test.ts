/**
 * Against real qmail programs: a vanilla (big-todo-less) notqmail build's
 * qmail-queue writes flat todo/ID and intd/ID into a queue laid out as
 * `qmd init` lays it out, qmd's send engine delivers them, and qmd's
 * qstat and qread print what the real qmail-qstat and qmail-qread print for
 * the same queue, byte for byte.
 *
 * The notqmail build (conf-qmail = $QMD_NOTQMAIL_ROOT, default
 * /work/notqmail-root) has its home compiled in, so each program runs in a
 * private mount namespace (`unshare -m`) with the test's queue bind-mounted
 * over ROOT/queue. Skipped, with the reason printed, when the build, root
 * privileges or unshare are missing.
 */
import { assert, assertEquals } from "./assert.ts";
import type { DeliveryJob } from "../appliance/ipc.ts";
import { setLogSink } from "../appliance/log.ts";
import { stringToBytes } from "../appliance/bytes.ts";
import { injectMessage } from "../appliance/queue/qmail_queue.ts";
import type { QueueLayout } from "../appliance/queue/layout.ts";
import { SendEngine } from "../appliance/send/engine/send_engine.ts";
import { countQueue, describeQueue, formatQstat } from "../appliance/queue/status.ts";
import { makeTestQueue } from "../appliance/queue/test_queue.ts";

const ROOT = Deno.env.get("QMD_NOTQMAIL_ROOT") ?? "/work/notqmail-root";
const PROGRAMS = ["qmail-queue", "qmail-qread", "qmail-qstat"];

function skipReason(): string | undefined {
  for (const program of PROGRAMS) {
    try {
      Deno.statSync(`${ROOT}/bin/${program}`);
    } catch {
      return `${ROOT}/bin/${program} is missing (build notqmail with conf-qmail ${ROOT})`;
    }
  }
  try {
    if (!Deno.statSync(`${ROOT}/queue`).isDirectory) return `${ROOT}/queue is not a directory`;
  } catch {
    return `${ROOT}/queue is missing`;
  }
  if (Deno.uid() !== 0) return "it needs root (bind mounts, the setuid qmailq queue)";
  try {
    const probe = new Deno.Command("unshare", { args: ["-m", "true"], stderr: "null" })
      .outputSync();
    if (!probe.success) return "unshare -m is not permitted here";
  } catch {
    return "unshare is not installed";
  }
  return undefined;
}

const SKIP = skipReason();
if (SKIP !== undefined) console.log(`notqmail queue test skipped: ${SKIP}`);

/** Runs ROOT/bin/PROGRAM with the test queue mounted over ROOT/queue; stdin and fd 1 from files. */
async function runWithQueue(
  layout: QueueLayout,
  program: string,
  files: { stdin?: string; fd1?: string } = {},
): Promise<{ code: number; stdout: string }> {
  const redirect = (files.stdin ? ' <"$3"' : "") + (files.fd1 ? ' 1<"$4"' : "");
  const output = await new Deno.Command("unshare", {
    args: [
      "-m",
      "sh",
      "-c",
      `mount --bind "$1" "$2/queue" && exec "$2/bin/${program}"${redirect}`,
      "sh",
      layout.root,
      ROOT,
      files.stdin ?? "",
      files.fd1 ?? "",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

/** What every file under the queue's todo/ and intd/ is called, relative to the queue. */
function entries(layout: QueueLayout, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory) walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`);
      else found.push(`${prefix}${entry.name}`);
    }
  };
  walk(`${layout.root}/${name}`, `${name}/`);
  return found.sort();
}

Deno.test({
  name: "notqmail: vanilla qmail-queue's flat entries are delivered; qstat and qread match qmail's",
  ignore: SKIP !== undefined,
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "qmd-notqmail-" });
    const logs: string[] = [];
    setLogSink((record) => logs.push(record.text), "send");
    let engine: SendEngine | undefined;
    try {
      Deno.chmodSync(home, 0o755);
      Deno.mkdirSync(`${home}/control`);
      Deno.writeTextFileSync(`${home}/control/me`, "mx.example.com\n");
      const layout = makeTestQueue(home, { todoSplit: true });
      // qmail-queue runs setuid qmailq: the queue is its, as qmail's installer leaves it.
      const chown = await new Deno.Command("chown", {
        args: ["-R", "qmailq:qmail", layout.root],
      }).output();
      assert(chown.success, "chown -R qmailq:qmail");

      const queued: string[] = [];
      for (
        const [index, recipients] of [["bob@mx.example.com", "far@remote.org"], [
          "ann@mx.example.com",
          "bob@mx.example.com",
        ]].entries()
      ) {
        const message = `${home}/message${index}`;
        const envelope = `${home}/envelope${index}`;
        Deno.writeTextFileSync(message, `Subject: vanilla ${index}\n\nbody ${index}\n`);
        Deno.writeTextFileSync(
          envelope,
          `Fjoe${index}@a.org\0${recipients.map((r) => `T${r}\0`).join("")}\0`,
        );
        const result = await runWithQueue(layout, "qmail-queue", { stdin: message, fd1: envelope });
        assertEquals(result.code, 0, "qmail-queue exit code");
        queued.push(...entries(layout, "todo").filter((name) => !queued.includes(name)));
      }
      // A vanilla build writes flat entries, even into todo/NN directories' parent.
      assertEquals(queued.length, 2);
      for (const name of queued) assert(/^todo\/\d+$/.test(name), name);
      const flatIds = queued.map((name) => BigInt(name.slice("todo/".length)));
      const { id: splitId } = await injectMessage(
        layout,
        stringToBytes("Subject: qmd\n\nbody\n"),
        stringToBytes("qmd@a.org"),
        [stringToBytes("bob@mx.example.com")],
        { who: "by uid 0" },
      );

      const qstat = await runWithQueue(layout, "qmail-qstat");
      assertEquals(formatQstat(countQueue(layout)), qstat.stdout);
      assertEquals(qstat.stdout.split("\n")[1], "messages in queue but not yet preprocessed: 3");

      const jobs: DeliveryJob[] = [];
      engine = new SendEngine({
        home,
        layout,
        deliver: (job) => jobs.push(job),
        timers: false,
        watchTrigger: false,
      });
      await engine.start();
      await engine.settle();
      assertEquals(entries(layout, "todo"), []);
      assertEquals(entries(layout, "intd"), []);
      assertEquals(
        jobs.map((job) => `${job.id} ${job.recipient}`).sort(),
        [
          `${flatIds[0]} bob@mx.example.com`,
          `${flatIds[1]} ann@mx.example.com`,
          `${flatIds[1]} bob@mx.example.com`,
          `${splitId} bob@mx.example.com`,
        ].sort(),
      );
      for (const id of flatIds) assert(logs.includes(`new msg ${id}`), logs.join("\n"));

      // One recipient done, one bounced: qread shows "done" lines and "bouncing".
      const slot = (id: bigint, recipient: string) =>
        jobs.find((job) => job.id === String(id) && job.recipient === recipient)!.delivery;
      engine.report({ delivery: slot(flatIds[1], "ann@mx.example.com"), status: "K", text: "" });
      engine.report({
        delivery: slot(flatIds[0], "bob@mx.example.com"),
        status: "D",
        text: "Sorry, no mailbox here by that name. (#5.1.1)\n",
      });
      const qread = await runWithQueue(layout, "qmail-qread");
      assertEquals(qread.code, 0);
      const ours = describeQueue(layout);
      assertEquals(ours.text, qread.stdout);
      assertEquals(ours.exitCode, qread.code);
      assert(qread.stdout.includes("  done\tlocal\tann@mx.example.com\n"), qread.stdout);
      assert(qread.stdout.includes(" bouncing\n"), qread.stdout);
      assertEquals(
        formatQstat(countQueue(layout)),
        (await runWithQueue(layout, "qmail-qstat")).stdout,
      );
    } finally {
      engine?.close();
      setLogSink((record) => console.log(record.text), "main");
      await Deno.remove(home, { recursive: true });
    }
  },
});
