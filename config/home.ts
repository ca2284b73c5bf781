/**
 * Where the qmd home is (QMAILHOME): the --home flag, else $QMD_HOME, else
 * ./qmd-home. Always returned as an absolute path.
 */
export function resolveHome(
  flag: string | undefined,
  env: (name: string) => string | undefined = Deno.env.get,
): string {
  const chosen = flag ?? env("QMD_HOME") ?? "qmd-home";
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
    tcpSmtp: `${home}/tcp.smtp`,
  };
}
