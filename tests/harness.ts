/**
 * Helpers for end-to-end tests: a running appliance on a temporary home and
 * a small raw SMTP client. Every wait is bounded.
 */
import { RUN_FLAGS } from "../mod.ts";
import { assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

export interface RunningQmd {
  home: string;
  /** The SMTP port, then submission (AUTH first) and SMTPS (TLS first). */
  port: number;
  submissionPort: number;
  smtpsPort: number;
  /** POP3 (STLS offered) and POP3S. */
  pop3Port: number;
  pop3sPort: number;
  /** The admin console's port (0 when it is off). */
  adminPort: number;
  process: Deno.ChildProcess;
  /** Everything the appliance printed so far. */
  output(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>;
  kill(): Promise<void>;
}

const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of tempDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone, or still in use by a process we could not stop
    }
  }
});

/** A fresh home path under a temporary directory, removed when the test module ends. */
export async function makeTempHome(base?: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-test-", dir: base });
  tempDirs.push(dir);
  return `${dir}/home`;
}

/**
 * A `qmd init`ed temporary home for `me` (default mx.example.test) whose
 * control/dnsservers names a server that answers nothing, so that remote
 * recipients never reach for the internet; each of `controls` is written as
 * control/NAME, one line.
 */
export async function makeInitedHome(
  controls: Record<string, string> = {},
  me = "mx.example.test",
): Promise<string> {
  const home = await makeTempHome();
  const init = await runQmd(["init", "--home", home, "--me", me]);
  assertEquals(init.code, 0, init.stderr);
  Deno.writeTextFileSync(`${home}/control/dnsservers`, "127.0.0.1:9\n");
  for (const [name, value] of Object.entries(controls)) {
    Deno.mkdirSync(`${home}/control/${name}`.replace(/\/[^/]+$/, ""), { recursive: true });
    Deno.writeTextFileSync(`${home}/control/${name}`, `${value}\n`);
  }
  return home;
}

/** `qmd user add ADDRESS --password-stdin FLAGS` on `home`; the test fails unless it succeeds. */
export async function addUser(
  home: string,
  address: string,
  password: string,
  flags: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const add = await runQmd(
    ["user", "add", address, "--password-stdin", ...flags, "--home", home],
    { stdin: `${password}\n` },
  );
  assertEquals(add.code, 0, add.stderr + add.stdout);
  return add;
}

/** Runs a qmd command to completion from the checkout. */
export async function runQmd(
  args: string[],
  options: { stdin?: string | Uint8Array; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(
      typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    );
    await writer.close();
  }
  const result = await child.output();
  return {
    code: result.code,
    stdout: new TextDecoder().decode(result.stdout),
    stderr: new TextDecoder().decode(result.stderr),
  };
}

/**
 * `qmd inject`s a message from `from` (a local mailbox) to `to`, which is
 * expected to fail, and waits (20 s at most) for the bounce to land in
 * `from`'s Maildir; the bounce's path.
 */
export async function injectAndAwaitBounce(
  qmd: RunningQmd,
  from: string,
  to: string,
  body: string,
): Promise<string> {
  const injected = await runQmd(["inject", "--home", qmd.home, "-f", from, to], { stdin: body });
  assertEquals(injected.code, 0, injected.stderr);
  const [user, domain] = from.split("@");
  const maildir = `${qmd.home}/mail/${domain}/${user}/Maildir`;
  const [bounce] = await waitFor(
    () => maildirNew(maildir).length > 0 ? maildirNew(maildir) : undefined,
    20_000,
    () => qmd.output(),
  );
  return bounce;
}

/**
 * A spawned child's stdout and stderr, collected as text in the order the
 * chunks arrive; `done` settles when both streams have ended.
 */
export function collectOutput(
  child: Deno.ChildProcess,
): { text: () => string; done: Promise<unknown> } {
  let text = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  return { text: () => text, done: Promise.all([collect(child.stdout), collect(child.stderr)]) };
}

/** Starts `qmd start` on a kernel-chosen loopback port and waits for its banner. */
export async function startQmd(
  home: string,
  options: {
    workers?: number;
    extraArgs?: string[];
    env?: Record<string, string>;
    port?: number;
    /** More V8 flags after RUN_FLAGS' own (the benchmark's --prof run). */
    v8Flags?: string[];
    cwd?: string;
  } = {},
): Promise<RunningQmd> {
  const flags = options.v8Flags === undefined
    ? RUN_FLAGS
    : RUN_FLAGS.map((flag) =>
      flag.startsWith("--v8-flags=") ? [flag, ...options.v8Flags!].join(",") : flag
    );
  const child = new Deno.Command(Deno.execPath(), {
    cwd: options.cwd,
    args: [
      "run",
      ...flags,
      `${ROOT}main.ts`,
      "start",
      "--home",
      home,
      "--smtp",
      `127.0.0.1:${options.port ?? 0}`,
      "--submission",
      "127.0.0.1:0",
      "--smtps",
      "127.0.0.1:0",
      "--pop3",
      "127.0.0.1:0",
      "--pop3s",
      "127.0.0.1:0",
      "--admin",
      "127.0.0.1:0",
      "--smtpd-workers",
      String(options.workers ?? 2),
      "--grace",
      "5",
      ...(options.extraArgs ?? []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const { text: output, done } = collectOutput(child);
  const port = await waitFor(
    () => {
      const match = /smtp: +127\.0\.0\.1:(\d+)/.exec(output());
      return match ? Number(match[1]) : undefined;
    },
    30_000,
    () => `qmd did not start:\n${output()}`,
  );
  const text = output();
  const listenerPort = (name: string) =>
    Number(new RegExp(`${name}: +127\\.0\\.0\\.1:(\\d+)`).exec(text)?.[1] ?? 0);
  return {
    home,
    port,
    submissionPort: listenerPort("submission"),
    smtpsPort: listenerPort("smtps"),
    pop3Port: listenerPort("pop3"),
    pop3sPort: listenerPort("pop3s"),
    adminPort: Number(/admin: +http:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1] ?? 0),
    process: child,
    output,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const status = await child.status;
      await done;
      return status.code;
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await done;
    },
  };
}

/** Polls until `probe` returns a value, at most `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string = () => "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`);
}

/** Files in a Maildir's new/ directory (empty when it does not exist). */
export function maildirNew(maildir: string): string[] {
  try {
    return [...Deno.readDirSync(`${maildir}/new`)].map((entry) => `${maildir}/new/${entry.name}`)
      .sort();
  } catch {
    return [];
  }
}

/** A minimal SMTP client speaking one line at a time; returns every reply. */
export class SmtpClient {
  #conn: Deno.TcpConn;
  #buffer = "";
  #decoder = new TextDecoder();

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<SmtpClient> {
    return new SmtpClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Reads one complete (possibly multi-line) reply; gives up after 30 s. */
  async reply(): Promise<string> {
    const chunk = new Uint8Array(65536);
    const deadline = Date.now() + 30_000;
    while (true) {
      if (Date.now() > deadline) {
        throw new Error(`no reply within 30 s; buffered: ${JSON.stringify(this.#buffer)}`);
      }
      const lines = this.#buffer.split("\r\n");
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3} /.test(lines[i]) || /^\d{3}$/.test(lines[i])) {
          const reply = lines.slice(0, i + 1).join("\r\n");
          this.#buffer = lines.slice(i + 1).join("\r\n");
          return reply;
        }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((
        resolve,
      ) => (timer = setTimeout(() => resolve("timeout"), 30_000)));
      const n = await Promise.race([this.#conn.read(chunk), timeout]).finally(() =>
        clearTimeout(timer)
      );
      if (n === "timeout") continue;
      if (n === null) {
        throw new Error(`connection closed; buffered: ${JSON.stringify(this.#buffer)}`);
      }
      this.#buffer += this.#decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  }

  async send(bytes: string | Uint8Array): Promise<void> {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    let written = 0;
    while (written < data.length) written += await this.#conn.write(data.subarray(written));
  }

  async command(line: string): Promise<string> {
    await this.send(line + "\r\n");
    return await this.reply();
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** One message, one connection; returns the reply to the final dot. */
export async function sendMessage(
  port: number,
  from: string,
  to: string[],
  body: string,
): Promise<string> {
  const client = await SmtpClient.connect(port);
  try {
    await client.reply();
    await client.command("HELO test.example");
    await client.command(`MAIL FROM:<${from}>`);
    for (const rcpt of to) await client.command(`RCPT TO:<${rcpt}>`);
    const go = await client.command("DATA");
    if (!go.startsWith("354")) return go;
    const stuffed = body.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    await client.send(stuffed + (stuffed.endsWith("\r\n") ? "" : "\r\n") + ".\r\n");
    const result = await client.reply();
    await client.command("QUIT").catch(() => "");
    return result;
  } finally {
    client.close();
  }
}
