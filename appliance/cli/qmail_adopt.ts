/**
 * `qmd import-qmail --apply`: take over a qmail installation in place. The
 * qmail directory becomes the qmd home as it is: control/, users/, the
 * alias user's and the users' .qmail files and the queue (either todo
 * layout) are read where they are, so nothing is moved, rewritten or
 * deleted and no message can be lost. What qmd needs beyond them is added
 * only where missing, by `qmd init`'s steps (mail/, log/, a self-signed
 * control/servercert.pem, and config-fast's control files when qmail ran
 * without them), and the tcpserver rules found are copied to HOME/tcp.smtp
 * (and its cdb) when the home has none. It stops nothing: it refuses while
 * a process holds the queue's sendmutex (a qmail-send still running).
 * vpopmail's domains become qmd's virtual domains with their Maildirs in
 * place (vpopmail_adopt.ts).
 */
import { initHome } from "../home/init_home.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import { fileExists } from "../durable_file.ts";
import { MailError } from "../mail_error.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import type { QmailSurvey } from "./qmail_survey.ts";
import { adoptVpopmail, type VpopmailAdoption } from "./vpopmail_adopt.ts";

/** What adopting did: paths created (relative to the home) and copies made. */
export interface AdoptResult {
  created: string[];
  copied: { from: string; to: string }[];
  notes: string[];
  /** What became of vpopmail's domains, when there are any. */
  vpopmail?: VpopmailAdoption;
}

/** Adopts the surveyed installation at `survey.root` (see the file comment). */
export async function adoptQmail(survey: QmailSurvey): Promise<AdoptResult> {
  const root = survey.root;
  const holders = survey.queue?.sendPids ?? [];
  if (holders.length > 0) {
    throw new MailError(
      `process ${holders.join(", ")} holds ${queueLayoutFor(root).sendmutex}: stop qmail-send ` +
        `(svc -d /service/qmail-send, or its init script) and run this again`,
      { temporary: false },
    );
  }
  if (survey.problems.length > 0) {
    throw new MailError(
      `could not read ${survey.problems[0]}; fix it before adopting ${root}`,
      { temporary: false },
    );
  }
  const { created, notes } = await initHome(root);
  const copied: AdoptResult["copied"] = [];
  const rules = survey.tcpRules[0];
  const target = `${root}/tcp.smtp`;
  if (rules !== undefined && !fileExists(target) && !fileExists(`${target}.cdb`)) {
    for (const [from, to] of [[rules.path, target], [`${rules.path}.cdb`, `${target}.cdb`]]) {
      if (!fileExists(from)) continue;
      Deno.copyFileSync(from, to);
      copied.push({ from, to });
    }
  }
  giveToHomeOwner(root, [...created.map((path) => `${root}/${path}`), ...copied.map((c) => c.to)]);
  const vpopmail = survey.vpopmail === undefined
    ? undefined
    : await adoptVpopmail(root, survey.vpopmail);
  return { created, copied, notes, vpopmail };
}
