/**
 * Where the qmd home is (QMAILHOME): the --home flag, else $QMD_HOME (when
 * set and not empty), else ./qmd-home. Always returned as an absolute path.
 */
export function resolveHome(
  flag: string | undefined,
  env: (name: string) => string | undefined = Deno.env.get,
): string {
  const chosen = flag ?? (env("QMD_HOME") || "qmd-home");
  return chosen.startsWith("/")
    ? chosen
    : `${Deno.cwd()}/${chosen}`.replace(/\/\.\//g, "/").replace(/\/$/, "");
}

/** The fixed places inside a home. */
export function homePaths(home: string) {
  return {
    home,
    control: `${home}/control`,
    users: `${home}/users`,
    alias: `${home}/alias`,
    queue: `${home}/queue`,
    mail: `${home}/mail`,
    accounts: `${home}/accounts.sqlite`,
    /** The control lines qmd domain add wrote (appliance/accounts/added_lines.ts). */
    addedLines: `${home}/accounts.lines`,
    tcpSmtp: `${home}/tcp.smtp`,
    /** qmd's own records (not control/log/, which holds the log switches). */
    log: `${home}/log`,
    /** The decision trace, one file per day (appliance/trace/store.ts). */
    trace: `${home}/log/trace`,
  };
}

/**
 * Why `home` is not a usable qmd home, as one sentence naming the path, or
 * undefined when it is a directory holding `part` (control/ by default;
 * queue/ for the queue commands, users/ for qmd newu), as `qmd init` or the
 * first `qmd start` makes it.
 */
export function findHomeProblem(
  home: string,
  part: "control" | "queue" | "users" = "control",
): string | undefined {
  const inside = `${home}/${part}`;
  for (const path of [home, inside]) {
    let stat: Deno.FileInfo;
    try {
      stat = Deno.statSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return path === home
          ? `no qmd home at ${home}: it does not exist; run qmd init --home ${home} first`
          : `${home} is not a qmd home: it has no ${part}/; run qmd init --home ${home} first`;
      }
      if (error instanceof Deno.errors.NotADirectory) return `${home} is not a directory`;
      const reason = error instanceof Deno.errors.PermissionDenied
        ? "access denied"
        : (error as Error).message;
      return `cannot use the home ${home}: ${path}: ${reason}`;
    }
    if (!stat.isDirectory) return `${path} is not a directory`;
  }
  return undefined;
}
