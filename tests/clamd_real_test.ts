/**
 * The clamd scan against a real clamd, where one is installed. No virus
 * database is needed (freshclam needs the internet): the test starts its own
 * clamd with a one-line signature database of its own (`.ndb`, a hex
 * pattern), on a private Unix socket and a loopback TCP port, with a small
 * StreamMaxLength. Skipped, with the reason printed, when clamd is missing or
 * will not start.
 */
import { assertEquals } from "./assert.ts";
import { beginClamdScan } from "../appliance/scan/clamd_scan.ts";
import type { ClamdSettings, ClamdTarget } from "../config/clamd.ts";
import type { FilterRequest } from "../appliance/filters/filter.ts";

const MARKER = "QMD-REAL-CLAMD-TEST-MARKER";
const SIGNATURE = "Qmd.Test.Marker";
/** Bounded wait for clamd to load its database and listen. */
const START_ATTEMPTS = 300;

const REQUEST: FilterRequest = {
  phase: "data",
  remoteIp: "127.0.0.1",
  env: {},
  relaying: false,
  tls: false,
  recipients: [],
  now: 0,
};

function clamdVersion(): string | undefined {
  try {
    const output = new Deno.Command("clamd", {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

const version = clamdVersion();
if (version === undefined) {
  console.log("clamd_real_test: skipped: clamd is not installed (apt-get install clamav-daemon)");
}

interface RealClamd {
  unix: ClamdTarget;
  tcp: ClamdTarget;
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function ping(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    try {
      await conn.write(new TextEncoder().encode("zPING\0"));
      const buffer = new Uint8Array(16);
      const count = await conn.read(buffer);
      return count !== null &&
        new TextDecoder().decode(buffer.subarray(0, count)).startsWith("PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

async function startClamd(): Promise<RealClamd | string> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-real-clamd-" });
  Deno.mkdirSync(`${dir}/db`);
  const hex = [...new TextEncoder().encode(MARKER)].map((byte) =>
    byte.toString(16).padStart(2, "0")
  )
    .join("");
  Deno.writeTextFileSync(`${dir}/db/qmd.ndb`, `${SIGNATURE}:0:*:${hex}\n`);
  const port = freePort();
  const socket = `${dir}/clamd.sock`;
  Deno.writeTextFileSync(
    `${dir}/clamd.conf`,
    [
      "Foreground yes",
      `LocalSocket ${socket}`,
      `TCPSocket ${port}`,
      "TCPAddr 127.0.0.1",
      `DatabaseDirectory ${dir}/db`,
      "StreamMaxLength 1M",
      `LogFile ${dir}/clamd.log`,
      `PidFile ${dir}/clamd.pid`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("clamd", {
    args: ["-c", `${dir}/clamd.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.then((result) => {
    exited = true;
    return result;
  });
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    await status;
    await Deno.remove(dir, { recursive: true });
  };
  for (let attempt = 0; attempt < START_ATTEMPTS && !exited; attempt++) {
    if (await ping(socket)) {
      return {
        unix: { kind: "unix", path: socket },
        tcp: { kind: "tcp", host: "127.0.0.1", port },
        stop,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let log = "";
  try {
    log = Deno.readTextFileSync(`${dir}/clamd.log`).trim().split("\n").slice(-3).join(" / ");
  } catch {
    // No log written.
  }
  await stop();
  return `clamd did not start: ${log || "no log"}`;
}

async function scanText(
  target: ClamdTarget,
  chunks: string[],
  logged: string[] = [],
): Promise<unknown> {
  const settings: ClamdSettings = { target, timeoutSeconds: 30, failReject: true };
  const scan = beginClamdScan(settings, REQUEST, (_event, text) => logged.push(text));
  for (const chunk of chunks) await scan.write(new TextEncoder().encode(chunk));
  return await scan.finish();
}

Deno.test({
  name: `real clamd (${
    version ?? "not installed"
  }): virus, clean and StreamMaxLength over TCP and a socket`,
  ignore: version === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const clamd = await startClamd();
    if (typeof clamd === "string") {
      console.log(`clamd_real_test: skipped: ${clamd}`);
      return;
    }
    try {
      for (const target of [clamd.unix, clamd.tcp]) {
        await t.step(`virus over ${target.kind}`, async () => {
          assertEquals(
            await scanText(target, [
              "Subject: x\n\n",
              `body ${MARKER.slice(0, 9)}`,
              `${MARKER.slice(9)}\n`,
            ]),
            {
              kind: "refuse",
              reply: [`554 5.7.7 your email contains the virus "${SIGNATURE}.UNOFFICIAL"!`],
              rule: { check: "clamd", source: "control/clamd", entry: `${SIGNATURE}.UNOFFICIAL` },
              log: `CLAMD: virus "${SIGNATURE}.UNOFFICIAL" was found!`,
            },
          );
        });
        await t.step(`clean over ${target.kind}`, async () => {
          assertEquals(await scanText(target, ["Subject: x\n\nhello\n"]), { kind: "pass" });
        });
      }
      await t.step(
        "over StreamMaxLength the message passes, even with clamdfailreject",
        async () => {
          const chunk = "x".repeat(64 * 1024) + "\n";
          const logged: string[] = [];
          assertEquals(await scanText(clamd.unix, Array(40).fill(chunk), logged), { kind: "pass" });
          assertEquals(logged, ["smtpd: CLAMD: message over clamd's StreamMaxLength, not scanned"]);
        },
      );
    } finally {
      await clamd.stop();
    }
  },
});
