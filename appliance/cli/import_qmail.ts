/**
 * `qmd import-qmail [/var/qmail]`: the dry run of taking over an existing
 * qmail installation. It reads (qmail_survey.ts) and prints what it found
 * and what adopting it would involve; it changes nothing. Adopting (an
 * --apply mode) is not built yet, and the command says so.
 */
import { EXIT } from "../exit_codes.ts";
import { parseCommand, usageError } from "./args.ts";
import { type QmailSurvey, surveyQmail } from "./qmail_survey.ts";

const NAME = "qmd import-qmail";

const USAGE = `usage: qmd import-qmail [QMAILDIR] [--vpopmail DIR] [--tcp-rules FILE ...] [--json]

A dry run: reads the qmail installation in QMAILDIR (default /var/qmail) and
prints what it holds: control/ (and which files qmd does not read), users/,
the .qmail files of the alias user and of the homes users/assign names,
tcpserver rules, vpopmail domains (DIR/domains/DOMAIN/vpasswd) and the queue
by state. Nothing is changed.
  --vpopmail DIR      vpopmail's home (default /home/vpopmail)
  --tcp-rules FILE    a tcpserver rules file; repeat for several (default
                      /etc/tcp.smtp, /etc/tcprules.d/tcp.qmail-smtp, DIR/etc/tcp.smtp)
  --json              the findings as JSON`;

function list(items: string[], none = "none"): string {
  return items.length === 0 ? none : items.join(", ");
}

/** The findings, one line each. */
export function formatSurvey(survey: QmailSurvey): string[] {
  const { control, users, queue, vpopmail } = survey;
  const lines = [
    `control/: ${control.files.length} files; me ${control.me ?? "(none)"}; ` +
    `locals ${list(control.locals)}; virtualdomains ${list(control.virtualdomains)}`,
  ];
  if (control.notRead.length > 0) {
    lines.push(`  known to qmd but not read by it: ${control.notRead.join(", ")}`);
  }
  if (control.unknown.length > 0) {
    lines.push(`  unknown to qmd (would be kept and ignored): ${control.unknown.join(", ")}`);
  }
  lines.push(
    `users/: ${
      users.assignEntries === undefined ? "no assign" : `assign with ${users.assignEntries} entries`
    }; ${users.cdb ? "cdb present" : "no cdb"}`,
    `.qmail files: ${survey.dotQmail.length}` +
      (survey.dotQmail.length > 0 ? ` (${survey.dotQmail.join(", ")})` : ""),
    `tcp rules: ${
      list(survey.tcpRules.map((rules) =>
        `${rules.path} (${rules.rules} rules${rules.cdb ? ", cdb" : ", no cdb"})`
      ))
    }`,
  );
  if (vpopmail === undefined) {
    lines.push("vpopmail: none found");
  } else {
    for (const domain of vpopmail.domains) {
      lines.push(
        `vpopmail: ${domain.domain}: ${domain.users} users, ${domain.clearPasswords} with a ` +
          `clear-text password${domain.cdb ? ", vpasswd.cdb" : ""}`,
      );
    }
  }
  if (queue === undefined) {
    lines.push("queue: none found");
  } else {
    const states = Object.entries(queue.states).map(([state, count]) => `${state} ${count}`);
    lines.push(
      `queue: ${queue.messages} messages (split ${queue.split}, ${queue.todo} todo/): ` +
        states.join(", "),
      queue.sendPids.length > 0
        ? `  running on it: process ${queue.sendPids.join(", ")} holds lock/sendmutex ` +
          `(qmail-send or a qmd)`
        : "  no process holds lock/sendmutex: qmail-send is not running on it",
    );
  }
  for (const problem of survey.problems) lines.push(`could not read ${problem}`);
  return lines;
}

/** What adopting the installation would involve, as the dry run can tell it. */
export function formatPlan(survey: QmailSurvey): string[] {
  const plan = [
    `stop qmail-send and the tcpserver services first: qmd takes over ${survey.root}/queue ` +
    `in place and reads both todo layouts`,
    `use ${survey.root} as the qmd home: control/, users/ and the .qmail files are read as they are`,
  ];
  for (const rules of survey.tcpRules) {
    plan.push(`compile ${rules.path} with qmd tcprules for qmd smtpd's per-client rules`);
  }
  for (const domain of survey.vpopmail?.domains ?? []) {
    const without = domain.users - domain.clearPasswords;
    plan.push(
      `add ${domain.domain} with ${domain.users} mailboxes` +
        (without > 0
          ? `; ${without} keep only a crypt hash, which qmd cannot check: they need new passwords`
          : ""),
    );
  }
  return plan;
}

export function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: {
      vpopmail: { type: "string" },
      "tcp-rules": { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  }, args);
  if (!parsed.ok) return Promise.resolve(parsed.exitCode);
  if (parsed.positionals.length > 1) {
    return Promise.resolve(usageError(NAME, "expected at most one QMAILDIR"));
  }
  const root = (parsed.positionals[0] ?? "/var/qmail").replace(/\/+$/, "");
  const vpopmail = parsed.values.vpopmail ?? "/home/vpopmail";
  try {
    if (!Deno.statSync(root).isDirectory) throw new Error("not a directory");
  } catch (error) {
    console.error(`${NAME}: cannot survey ${root}: ${(error as Error).message}`);
    return Promise.resolve(EXIT.permanent);
  }
  const survey = surveyQmail(root, {
    vpopmail,
    tcpRules: parsed.values["tcp-rules"] ??
      ["/etc/tcp.smtp", "/etc/tcprules.d/tcp.qmail-smtp", `${vpopmail}/etc/tcp.smtp`],
  });
  if (parsed.values.json) {
    console.log(JSON.stringify({ ...survey, plan: formatPlan(survey) }, null, 2));
    return Promise.resolve(EXIT.ok);
  }
  console.log(`${NAME}: dry run of ${root}; nothing is changed`);
  for (const line of formatSurvey(survey)) console.log(line);
  console.log("adopting it (an --apply this qmd does not have yet) would mean:");
  for (const [index, step] of formatPlan(survey).entries()) console.log(`  ${index + 1}. ${step}`);
  return Promise.resolve(EXIT.ok);
}
