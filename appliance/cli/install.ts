/**
 * `qmd install --systemd|--daemontools`: the files that run `qmd start` as
 * a service (service_files.ts), printed with where they would go, or, with
 * --apply, written there (under --root DIR when given, for packaging and
 * tests). Either way it prints the next steps; it never creates users, runs
 * systemctl or touches /service itself. Not to be confused with `deno task
 * install`, which puts a qmd launcher on the PATH.
 */
import { resolveHome } from "../../config/home.ts";
import { writeFileAtomically } from "../control_files.ts";
import { isNotFound } from "../durable_file.ts";
import { EXIT } from "../exit_codes.ts";
import { parseCommand, usageError } from "./args.ts";
import { findOnPath, launcherCheckout, shellQuote } from "./launcher.ts";
import {
  daemontoolsFiles,
  type ServiceFile,
  type ServiceSettings,
  systemdUnit,
} from "./service_files.ts";

const NAME = "qmd install";

const USAGE = `usage: qmd install --systemd|--daemontools [--apply] [--root DIR] [--home DIR]
                   [--user NAME] [--group NAME] [--exec PATH] [--address ADDR]
                   [--service-dir DIR] [--grace SECONDS]

Prints the files that run qmd start as a service, and where they go:
  --systemd          /etc/systemd/system/qmd.service
  --daemontools      a supervise directory (default HOME/supervise/qmd): run, log/run
  --apply            write them (nothing is written without it)
  --root DIR         write under DIR instead of / (packaging, tests)
  --user NAME        the dedicated user qmd runs as (default qmd); --group (default: the user)
  --exec PATH        the qmd executable (default: this compiled qmd, the qmd launcher on
                     the PATH, else /usr/local/bin/qmd)
  --address ADDR     where the listeners bind (default 0.0.0.0; ports 25 587 465 110 995)
  --grace SECONDS    qmd start --grace (default 10)
Then prints the next steps: the user, the home's owner, enabling the service.`;

/** systemd's unit syntax and /bin/sh both take these paths and names as they are. */
const SAFE_PATH = /^\/[A-Za-z0-9._/+@-]*$/;
const SAFE_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const SAFE_ADDRESS = /^[0-9A-Fa-f.:[\]]+$/;
const MARK = "Written by qmd install";

/** The qmd to run: this compiled qmd, a qmd launcher on the PATH, else /usr/local/bin/qmd. */
function defaultExec(): string {
  if (!/(^|\/)deno$/.test(Deno.execPath())) return Deno.execPath();
  const onPath = findOnPath("qmd");
  if (onPath !== undefined && launcherCheckout(onPath) !== undefined) return onPath;
  return "/usr/local/bin/qmd";
}

/** Whether `path` is an ELF executable (setcap works on it; not on a script). */
function isElf(path: string): boolean {
  try {
    const file = Deno.openSync(path, { read: true });
    try {
      const head = new Uint8Array(4);
      return file.readSync(head) === 4 && head.join(",") === "127,69,76,70";
    } finally {
      file.close();
    }
  } catch {
    return false;
  }
}

function nextSteps(
  kind: "systemd" | "daemontools",
  settings: ServiceSettings,
  serviceDir: string,
): string[] {
  const { user, group, home, exec } = settings;
  const steps = [
    `id ${user} || useradd --system --home-dir ${home} --shell /usr/sbin/nologin ${user}`,
    `${shellQuote(exec)} init --home ${home} && chown -R ${user}:${group} ${home}`,
  ];
  if (!isElf(exec)) {
    steps.push(
      `${exec} is not a compiled qmd (or is not there yet): build one with deno task compile ` +
        `and copy it there, or install the launcher with deno task install --bin-dir ` +
        `${exec.slice(0, exec.lastIndexOf("/"))}; the user ${user} must be able to run it`,
    );
  }
  if (kind === "systemd") {
    steps.push(
      "systemctl daemon-reload && systemctl enable --now qmd",
      "systemctl status qmd; journalctl -u qmd -f     # the log; systemctl reload qmd = SIGHUP",
    );
  } else {
    steps.push(
      isElf(exec)
        ? `setcap cap_net_bind_service=+ep ${exec}   # ports below 1024 as ${user}`
        : `sysctl -w net.ipv4.ip_unprivileged_port_start=25   # ports below 1024 as ${user} ` +
          `(setcap needs a compiled qmd)`,
      `chown ${user}:${group} ${serviceDir}/log/main`,
      `ln -s ${serviceDir} /service/qmd && svstat /service/qmd   # svc -h /service/qmd = SIGHUP`,
    );
  }
  return steps.map((step, index) => `  ${index + 1}. ${step}`);
}

/** Writes `file` under `root`; refuses to replace a file qmd install did not write. */
function writeServiceFile(root: string, file: ServiceFile): string {
  const target = `${root}${file.path}`;
  try {
    if (!Deno.readTextFileSync(target).includes(MARK)) {
      throw new Error(`${target} exists and was not written by qmd install; move it away first`);
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true, mode: 0o755 });
  writeFileAtomically(target, new TextEncoder().encode(file.text), file.mode);
  Deno.chmodSync(target, file.mode);
  return target;
}

export function main(args: string[]): Promise<number> {
  return Promise.resolve(run(args));
}

function run(args: string[]): number {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    positionals: false,
    options: {
      systemd: { type: "boolean" },
      daemontools: { type: "boolean" },
      apply: { type: "boolean" },
      root: { type: "string" },
      home: { type: "string" },
      user: { type: "string" },
      group: { type: "string" },
      exec: { type: "string" },
      address: { type: "string" },
      "service-dir": { type: "string" },
      grace: { type: "string" },
    },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const values = parsed.values;
  if (Boolean(values.systemd) === Boolean(values.daemontools)) {
    return usageError(NAME, "give one of --systemd and --daemontools");
  }
  const kind = values.systemd ? "systemd" : "daemontools";
  const user = values.user ?? "qmd";
  const settings: ServiceSettings = {
    exec: values.exec ?? defaultExec(),
    home: resolveHome(values.home),
    user,
    group: values.group ?? user,
    address: values.address ?? "0.0.0.0",
    grace: Number(values.grace ?? "10"),
  };
  const serviceDir = values["service-dir"] ?? `${settings.home}/supervise/qmd`;
  for (
    const [flag, value] of [["--exec", settings.exec], ["--home", settings.home], [
      "--service-dir",
      serviceDir,
    ]]
  ) {
    if (!SAFE_PATH.test(value)) {
      return usageError(
        NAME,
        `${flag} ${JSON.stringify(value)}: an absolute path of letters, ` +
          `digits and . _ / + @ - only`,
      );
    }
  }
  for (const [flag, value] of [["--user", settings.user], ["--group", settings.group]]) {
    if (!SAFE_NAME.test(value)) {
      return usageError(NAME, `${flag} ${JSON.stringify(value)}: not a user name`);
    }
  }
  if (!SAFE_ADDRESS.test(settings.address)) {
    return usageError(NAME, `--address ${JSON.stringify(settings.address)}: not an IP address`);
  }
  if (!Number.isInteger(settings.grace) || settings.grace < 0) {
    return usageError(NAME, `--grace ${JSON.stringify(values.grace)}: not whole seconds`);
  }
  const files = kind === "systemd"
    ? [{ path: "/etc/systemd/system/qmd.service", mode: 0o644, text: systemdUnit(settings) }]
    : daemontoolsFiles(settings, serviceDir);
  const root = (values.root ?? "").replace(/\/+$/, "");
  if (values.apply) {
    try {
      for (const file of files) console.log(`${NAME}: wrote ${writeServiceFile(root, file)}`);
      if (kind === "daemontools") {
        Deno.mkdirSync(`${root}${serviceDir}/log/main`, { recursive: true, mode: 0o755 });
      }
    } catch (error) {
      console.error(`${NAME}: ${(error as Error).message}`);
      return EXIT.temporary;
    }
  } else {
    for (const file of files) {
      console.log(`# ${root}${file.path} (mode ${file.mode.toString(8)}; --apply writes it)`);
      console.log(file.text);
    }
  }
  console.log(`${NAME}: next steps${values.apply ? "" : ", after --apply"}:`);
  for (const line of nextSteps(kind, settings, serviceDir)) console.log(line);
  return EXIT.ok;
}
