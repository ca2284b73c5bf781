/**
 * Every control file the roles read at start, put through the roles' own
 * loaders at once, so that each broken file is named with its line: `qmd
 * start` refuses to start on them, and the admin console refuses to save a
 * file that would break them (appliance/admin/control_check.ts).
 */
import { homePaths } from "./home.ts";
import { loadTcpRules } from "./tcprules.ts";
import { loadSmtpdControls } from "./smtpd.ts";
import { loadPop3dControls } from "./pop3d.ts";
import { readSendControls } from "./send.ts";
import { loadRemoteControls } from "./remote.ts";
import { loadOwnStsPolicy } from "./mail_security.ts";
import { loadAcmeControls } from "./acme.ts";
import { controlErrorMessages, ControlErrors, loadAllControls } from "./control.ts";

/**
 * One line per broken file (`PATH line N: reason`), none when every file
 * loads. `pop3` adds pop3d's files; `tcpSmtp` is the rules file to read
 * (default the home's).
 */
export function findControlProblems(
  home: string,
  options: { pop3: boolean; tcpSmtp?: string },
): string[] {
  try {
    loadAllControls(() => {
      loadSmtpdControls(home);
      loadTcpRules(options.tcpSmtp ?? homePaths(home).tcpSmtp);
      readSendControls(home);
      loadRemoteControls(home);
      loadOwnStsPolicy(home);
      loadAcmeControls(home);
      if (options.pop3) loadPop3dControls(home);
    });
  } catch (error) {
    if (error instanceof ControlErrors) return controlErrorMessages(error);
    throw error;
  }
  return [];
}
