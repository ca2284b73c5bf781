/**
 * Every control file the roles read at start, put through the roles' own
 * loaders at once, so that each broken file is named with its line: `qmd
 * start` refuses to start on them, and the admin console refuses to save a
 * file that would break them (admin/control_check.ts).
 */
import { homePaths } from "../../config/home.ts";
import { loadTcpRules } from "../../config/tcprules.ts";
import { loadSmtpdControls } from "../../config/smtpd.ts";
import { loadPop3dControls } from "../../config/pop3d.ts";
import { readSendControls } from "../../config/send.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { controlErrorMessages, ControlErrors, loadAllControls } from "../../config/control.ts";

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
      if (options.pop3) loadPop3dControls(home);
    });
  } catch (error) {
    if (error instanceof ControlErrors) return controlErrorMessages(error);
    throw error;
  }
  return [];
}
