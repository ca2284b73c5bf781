/**
 * `qmd sendmail [-t] [-f sender] [-F name] [-i] [-oi] [recipient ...]`: qmail's
 * sendmail wrapper (notqmail sendmail.c, with the flagf patch): it runs
 * qmail-inject with -a (recipients from the arguments) or, with -t, -H (the
 * arguments and the header's To, Cc, Bcc). -f sets the envelope sender and
 * the From: user and host. The message is always read to end of file, so -i
 * and -oi change nothing; -v -m -x -e -p -B -N -R -V -O and the other -o
 * options are accepted and ignored, as qmail's sendmail ignores them.
 *
 * Departures: -bs (SMTP on stdin) and -bp (mailq) are refused with a line
 * naming the qmd command to use; -F still names the sender when -f is given
 * (notqmail's flagf code drops it); -f '<addr>' is taken as addr, and -f ''
 * or -f '<>' as the null sender without touching the From: user.
 */
import { parseCommand, usageError } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { runInject } from "./inject.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "sendmail";

const USAGE =
  `usage: qmd sendmail [-t] [-f sender] [-F fullname] [-i] [-oi] [--home DIR] [recipient ...]

Queues the message on stdin through qmail-inject.

  -t           also take recipients from the To, Cc and Bcc fields
  -f SENDER    envelope sender; also the user and host of a generated From:
  -F NAME      full name for a generated From:
  -i, -oi      accepted; the message always ends at end of file
  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)

Accepted and ignored: -v -m -x -e X -p X -B X -N X -R X -V X -O X -o X -E -J -bm.
Not supported: -bs (use qmd smtpd) and -bp (use qmd qread).
`;

const OPTIONS = {
  home: { type: "string" },
  t: { type: "boolean", short: "t" },
  f: { type: "string", short: "f" },
  F: { type: "string", short: "F" },
  i: { type: "boolean", short: "i" },
  v: { type: "boolean", short: "v" },
  m: { type: "boolean", short: "m" },
  x: { type: "boolean", short: "x" },
  e: { type: "string", short: "e" },
  p: { type: "string", short: "p" },
  o: { type: "string", short: "o", multiple: true },
  O: { type: "string", short: "O", multiple: true },
  B: { type: "string", short: "B" },
  N: { type: "string", short: "N" },
  R: { type: "string", short: "R" },
  V: { type: "string", short: "V" },
  b: { type: "string", short: "b" },
} as const;

/**
 * The environment qmail-inject gets for `-f sender` (do_sender): the name
 * and host variables are cleared, QMAILUSER/QMAILHOST are set from the
 * address (split at the last @).
 */
export function senderEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  sender: string | undefined,
  fullname: string | undefined,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  if (sender !== undefined) {
    for (const name of ["QMAILNAME", "MAILNAME", "NAME", "QMAILHOST", "MAILHOST"]) {
      delete out[name];
    }
    const at = sender.lastIndexOf("@");
    if (at < 0) {
      out.QMAILUSER = sender;
    } else {
      out.QMAILUSER = sender.slice(0, at);
      out.QMAILHOST = sender.slice(at + 1);
    }
  }
  if (fullname !== undefined) out.MAILNAME = fullname;
  return out;
}

export async function main(
  args: string[],
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<number> {
  // -E and -J (Sony NEWS-OS) take an optional argument glued to the flag; qmail skips it.
  const filtered = args.filter((arg) => !/^-[EJ]/.test(arg));
  const parsed = parseCommand({ name: NAME, usage: USAGE, options: OPTIONS }, filtered);
  if (!parsed.ok) return parsed.exitCode;
  const mode = parsed.values.b;
  if (mode !== undefined) {
    switch (mode[0]) {
      case "m":
        break;
      case "s":
        return usageError(NAME, "-bs (SMTP on stdin) is not supported; use qmd smtpd");
      case "p":
        return usageError(NAME, "-bp (mailq) is not supported; use qmd qread");
      default:
        return usageError(NAME, `-b${mode} is not supported`);
    }
  }
  // Programs often write the null sender as -f '<>' and addresses as -f '<a@b>'.
  const sender = parsed.values.f?.replace(/^<(.*)>$/, "$1");
  const env = senderEnvironment(Deno.env.toObject(), sender || undefined, parsed.values.F);
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home, "queue");
  if (problem !== undefined) {
    // qmail-inject would only say "qq trouble"; 111 is its temporary failure.
    console.error(`${NAME}: fatal: ${problem}`);
    return EXIT.temporary;
  }
  return await runInject({
    home,
    env,
    sender,
    recipients: parsed.positionals,
    strategy: parsed.values.t ? "both" : "args",
    stdin,
  });
}
