/**
 * `qmd remote HOST SENDER RECIPIENT [RECIPIENT ...]` (and argv[0] `qmail-remote`):
 * qmail-remote(8). HOST chooses the route and the MX; the recipients go in
 * one envelope. The message comes on stdin, the routes and timeouts from the
 * home's controls, and the result goes to stdout in qmail-remote's form:
 * NUL-terminated records (`r`/`h`/`s` for each recipient, in the arguments'
 * order, then `K`/`Z`/`D`; fewer recipient records when the message failed
 * before RCPT), exit 0 (docs/queue-format.md §5.7). This is what an extraremote
 * wrapper runs at its end, and what a qmail-rspawn can run in qmail-remote's place.
 */
import { utf8ByteString } from "../bytes.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { parseCommand } from "./args.ts";
import { ConnectionPool } from "../remote/connection_pool.ts";
import type { SmtpConnection } from "../remote/pooled_connection.ts";
import { buildRemoteContext } from "../remote/remote_context.ts";
import { deliverRecords } from "../remote/remote_delivery.ts";
import { encodeRemoteOutput, REMOTE_TEXTS } from "../send/remote_report.ts";
import { setLogSink } from "../log.ts";
import { EXIT } from "../exit_codes.ts";

const USAGE = `usage: qmd remote [--home DIR] HOST SENDER RECIPIENT [RECIPIENT ...]

Delivers the message on stdin to the recipients at HOST as qmail-remote does
(routes and MX for HOST, TLS, AUTH from the home's control files) and prints
qmail-remote's NUL-terminated reports on stdout: one r/h/s per recipient,
then K/Z/D for the message.`;

function print(text: string): Promise<number> {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return Deno.stdout.write(bytes);
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "qmd remote",
    usage: USAGE,
    options: { home: { type: "string" } },
    positionals: true,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const [host, sender, ...recipients] = parsed.positionals;
  if (recipients.length === 0 || host === "") {
    // qmail-remote's perm_usage, which exits 0 after its report.
    await print("DI (qmail-remote) was invoked improperly. (#5.3.5)\n\0");
    return EXIT.ok;
  }
  setLogSink((record) => console.error(`qmd-remote: ${record.text}`), "remote");
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home);
  if (problem !== undefined) {
    // The report stays qmail-remote's (its caller reads only stdout and exit 0); stderr says why.
    console.error(`qmd-remote: ${problem}`);
    await print(encodeRemoteOutput([REMOTE_TEXTS.noControls]));
    return EXIT.ok;
  }
  // stdin goes to a private scratch file: an attempt needs its size, and the fallback route
  // (docs/patches.md seed 001) reads it again.
  const scratch = await Deno.makeTempDir({ prefix: "qmd-remote-" });
  const messagePath = `${scratch}/message`;
  const pool = new ConnectionPool<SmtpConnection>({ idleMs: 0 });
  try {
    const file = await Deno.open(messagePath, { write: true, create: true });
    await Deno.stdin.readable.pipeTo(file.writable);
    // Not a queued message: no mess/ name, the file is messagePath.
    const records = await deliverRecords(
      // Arguments are text; the envelope is bytes (a UTF-8 address as its UTF-8 bytes).
      {
        delivery: 0,
        id: "1",
        mess: "",
        sender: utf8ByteString(sender),
        recipient: utf8ByteString(recipients[0]),
      },
      buildRemoteContext(home, pool),
      messagePath,
      { host: utf8ByteString(host), recipients: recipients.map((each) => utf8ByteString(each)) },
    );
    await print(encodeRemoteOutput(records));
  } catch (error) {
    await print(`Z${(error as Error).message.replace(/\0/g, "?")}. (#4.3.0)\n\0`);
  } finally {
    pool.close();
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
  return EXIT.ok;
}
