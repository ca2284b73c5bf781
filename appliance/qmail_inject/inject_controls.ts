/**
 * The control values qmail-inject rewrites addresses and makes Message-IDs
 * with (qmail-inject(8), qmail-control(5)).
 */

/** The control files qmail-inject reads, each already defaulted (see resolveInjectControls). */
export interface InjectControls {
  defaultdomain: string;
  defaulthost: string;
  plusdomain: string;
  idhost: string;
}

/**
 * The values in force: $QMAILDEFAULTDOMAIN, $QMAILDEFAULTHOST,
 * $QMAILPLUSDOMAIN and $QMAILIDHOST override the files; an absent file
 * defaults to control/me, else to its own name (control_rldef).
 */
export function resolveInjectControls(
  files: Partial<InjectControls> & { me?: string },
  env: Readonly<Record<string, string | undefined>>,
): InjectControls {
  const pick = (name: keyof InjectControls, variable: string) =>
    env[variable] ?? files[name] ?? files.me ?? name;
  return {
    defaultdomain: pick("defaultdomain", "QMAILDEFAULTDOMAIN"),
    defaulthost: pick("defaulthost", "QMAILDEFAULTHOST"),
    plusdomain: pick("plusdomain", "QMAILPLUSDOMAIN"),
    idhost: pick("idhost", "QMAILIDHOST"),
  };
}
