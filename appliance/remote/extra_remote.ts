/**
 * extraremote (docs/patches.md seed 001): qmail-rspawn runs the wrapper
 * QMAILHOME/bin/qmail-remote.extra instead of qmail-remote, with the same
 * arguments (HOST SENDER RECIPIENT) and the message on fd 0; the wrapper does
 * its work and ends by running the real qmail-remote (`qmd remote`, or
 * qmd installed as qmail-remote). Its NUL-terminated output is translated as
 * qmail-rspawn translates qmail-remote's (docs/queue-format.md §5.7). It runs
 * under qmail-start's umask 077, which qmail-rspawn passes on to what it
 * runs; /bin/sh sets it, since Deno cannot set a child's umask alone and the
 * process-wide one is shared by every role.
 */
import { byteStringText } from "../bytes.ts";
import type { DeliveryJob, DeliveryReport } from "../ipc.ts";
import type { QueueLayout } from "../queue/layout.ts";
import {
  formatRemoteReport,
  formatRemoteSpawnFailure,
  parseRemoteOutput,
} from "../send/remote_report.ts";
import { EXIT } from "../exit_codes.ts";

/** The wrapper's path inside the home. */
export function extraRemotePath(home: string): string {
  return `${home}/bin/qmail-remote.extra`;
}

/** qmail-start's umask(077) (qmail-start.c), inherited by qmail-rspawn's children. */
const QMAIL_START_UMASK = "077";

/**
 * Run by /bin/sh with the wrapper as $0: set the umask, then become the
 * wrapper. A wrapper that cannot be run exits 111 (a temporary failure), as
 * when it could not be started at all.
 */
const START_WRAPPER =
  `umask ${QMAIL_START_UMASK}; [ -x "$0" ] || exit ${EXIT.temporary}; exec "$0" "$@"`;

/** Most output read from the wrapper (qmail-remote's texts are short; rspawn keeps what fits). */
const MAX_OUTPUT = 64 * 1024;

export async function runExtraRemote(
  job: DeliveryJob,
  home: string,
  layout: QueueLayout,
): Promise<DeliveryReport> {
  const at = job.recipient.lastIndexOf("@");
  const host = at >= 0 ? job.recipient.slice(at + 1) : "";
  let child: Deno.ChildProcess;
  let message: Deno.FsFile;
  try {
    message = await Deno.open(layout.messFromName(job.mess), { read: true });
  } catch {
    return { delivery: job.delivery, status: "Z", text: "Unable to read message. (#4.3.0)\n" };
  }
  try {
    child = new Deno.Command("/bin/sh", {
      // Addresses are byte strings; an argument is text Deno writes as UTF-8, so a UTF-8 address
      // reaches the wrapper as its own bytes (qmail-rspawn passes bytes).
      args: [
        "-c",
        START_WRAPPER,
        extraRemotePath(home),
        ...[host, job.sender, job.recipient].map(
          byteStringText,
        ),
      ],
      cwd: home,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    message.close();
    const failure = formatRemoteSpawnFailure({ exitCode: EXIT.temporary });
    return { delivery: job.delivery, ...failure };
  }
  const feed = message.readable.pipeTo(child.stdin).catch(() => {});
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of child.stdout) {
    if (size < MAX_OUTPUT) chunks.push(chunk.subarray(0, MAX_OUTPUT - size));
    size += chunk.length;
  }
  const status = await child.status;
  await feed;
  if (status.signal !== null) {
    return { delivery: job.delivery, ...formatRemoteSpawnFailure({ crashed: true }) };
  }
  if (status.code !== 0) {
    return { delivery: job.delivery, ...formatRemoteSpawnFailure({ exitCode: status.code }) };
  }
  let output = "";
  for (const chunk of chunks) for (const byte of chunk) output += String.fromCharCode(byte);
  return { delivery: job.delivery, ...formatRemoteReport(parseRemoteOutput(output)) };
}
