/**
 * `qmd import-qmail [/var/qmail]`: taking over an existing qmail
 * installation. By default a dry run: it reads (qmail_survey.ts) and prints
 * what it found and what adopting it involves, changing nothing. With
 * --apply it adopts the installation in place (qmail_adopt.ts).
 */
import { EXIT } from "../exit_codes.ts";
import { exitCodeFor } from "../mail_error.ts";
import { adoptQmail, type AdoptResult } from "./qmail_adopt.ts";
import { parseCommand, usageError } from "./args.ts";
import { type QmailSurvey, surveyQmail, type VpopmailDomain } from "./qmail_survey.ts";
import type { VpopmailAdoption } from "./vpopmail_adopt.ts";

const NAME = "qmd import-qmail";

const USAGE = `usage: qmd import-qmail [QMAILDIR] [--vpopmail DIR] [--tcp-rules FILE ...] [--json]
                        [--apply]

Reads the qmail installation in QMAILDIR (default /var/qmail) and prints what
it holds: control/ (and which files qmd does not read), users/, the .qmail
files of the alias user and of the homes users/assign names, tcpserver rules,
vpopmail domains (DIR/domains/DOMAIN/vpasswd) and the queue by state. Without
--apply nothing is changed. --apply makes QMAILDIR a qmd home in place: its
files and queue stay where they are, qmd init's missing parts are added, the
rules found are copied to QMAILDIR/tcp.smtp, vpopmail's domains become qmd
domains whose mailboxes keep their Maildirs in place (crypt-only passwords
need qmd user passwd); it refuses while qmail-send runs.
  --vpopmail DIR      vpopmail's home (default /home/vpopmail)
  --tcp-rules FILE    a tcpserver rules file; repeat for several (default
                      /etc/tcp.smtp, /etc/tcprules.d/tcp.qmail-smtp, DIR/etc/tcp.smtp)
  --json              the findings as JSON
  --apply             adopt the installation in place (stop qmail-send first)`;

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
    `use ${survey.root} as the qmd home: control/, users/ and the .qmail files are read as they ` +
    `are; what qmd init adds (mail/, log/, control/servercert.pem) is added where missing`,
  ];
  for (const rules of survey.tcpRules) {
    plan.push(`compile ${rules.path} with qmd tcprules for qmd smtpd's per-client rules`);
  }
  for (const domain of survey.vpopmail?.domains ?? []) plan.push(...vpopmailPlan(survey, domain));
  return plan;
}

/** What --apply will do with one vpopmail domain. */
function vpopmailPlan(survey: QmailSurvey, domain: VpopmailDomain): string[] {
  const cryptOnly = domain.mailboxes.filter((mailbox) => !mailbox.clearPassword)
    .map((mailbox) => `${mailbox.user}@${domain.domain}`);
  return [
    `adopt ${domain.domain} into qmd's accounts: ${domain.users} mailboxes from ` +
    `${domain.dir}/${domain.source}, quotas kept, each Maildir used in place ` +
    `(${survey.root}/mail/${domain.domain}/USER/Maildir links to vpopmail's DIR/Maildir, ` +
    `and its alias files .qmail-NAME, not .qmail-default, are linked beside them); ` +
    `users/assign's +${domain.domain}- line is removed (kept in users/assign.qmail)`,
    cryptOnly.length === 0
      ? `${domain.domain}: every mailbox has a clear-text password, stored as a scrypt hash`
      : `${domain.domain}: ${cryptOnly.length} mailboxes have only a crypt hash, which qmd ` +
        `cannot check: they receive mail but cannot log in until qmd user passwd ADDRESS ` +
        `(${cryptOnly.join(", ")})`,
  ];
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: {
      vpopmail: { type: "string" },
      "tcp-rules": { type: "string", multiple: true },
      json: { type: "boolean" },
      apply: { type: "boolean" },
    },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  if (parsed.positionals.length > 1) {
    return usageError(NAME, "expected at most one QMAILDIR");
  }
  const root = (parsed.positionals[0] ?? "/var/qmail").replace(/\/+$/, "");
  const vpopmail = parsed.values.vpopmail ?? "/home/vpopmail";
  try {
    if (!Deno.statSync(root).isDirectory) throw new Error("not a directory");
  } catch (error) {
    console.error(`${NAME}: cannot survey ${root}: ${(error as Error).message}`);
    return EXIT.permanent;
  }
  const survey = surveyQmail(root, {
    vpopmail,
    tcpRules: parsed.values["tcp-rules"] ??
      ["/etc/tcp.smtp", "/etc/tcprules.d/tcp.qmail-smtp", `${vpopmail}/etc/tcp.smtp`],
  });
  if (parsed.values.apply) return await apply(survey);
  if (parsed.values.json) {
    console.log(JSON.stringify({ ...survey, plan: formatPlan(survey) }, null, 2));
    return EXIT.ok;
  }
  console.log(`${NAME}: dry run of ${root}; nothing is changed`);
  for (const line of formatSurvey(survey)) console.log(line);
  console.log("adopting it (--apply) means:");
  for (const [index, step] of formatPlan(survey).entries()) console.log(`  ${index + 1}. ${step}`);
  return EXIT.ok;
}

/** What adopting vpopmail's domains did, one line each. */
function vpopmailLines(done: VpopmailAdoption): string[] {
  return [
    ...done.domains.map((domain) => `${NAME}: added domain ${domain}`),
    ...done.mailboxes.map((address) => `${NAME}: added mailbox ${address}`),
    ...done.links.map((link) => `${NAME}: linked ${link}`),
    ...done.assignRemoved.map((line) => `${NAME}: removed from users/assign: ${line}`),
    ...done.notes.map((note) => `${NAME}: note: ${note}`),
    ...(done.needPassword.length === 0 ? [] : [
      `${NAME}: ${done.needPassword.length} mailboxes have only vpopmail's crypt hash, which ` +
      `qmd cannot check: they receive mail but cannot log in until you run qmd user passwd ` +
      `for each: ${done.needPassword.join(", ")}`,
    ]),
  ];
}

async function apply(survey: QmailSurvey): Promise<number> {
  for (const line of formatSurvey(survey)) console.log(line);
  let result: AdoptResult;
  try {
    result = await adoptQmail(survey);
  } catch (error) {
    console.error(`${NAME}: ${(error as Error).message}`);
    return exitCodeFor(error);
  }
  const root = survey.root;
  for (const path of result.created) console.log(`${NAME}: created ${root}/${path}`);
  for (const copy of result.copied) console.log(`${NAME}: copied ${copy.from} to ${copy.to}`);
  for (const note of result.notes) console.log(`${NAME}: note: ${note}`);
  if (result.vpopmail !== undefined) {
    for (const line of vpopmailLines(result.vpopmail)) console.log(line);
  }
  const assignChanged = (result.vpopmail?.assignRemoved.length ?? 0) > 0
    ? " (but the users/assign lines above; qmail's file is kept as users/assign.qmail)"
    : "";
  console.log(
    `${NAME}: ${root} is a qmd home; nothing of qmail's was moved or removed${assignChanged}. Next:`,
  );
  console.log(`  1. qmd showctl --home ${root}     # what qmd reads, and the files it does not`);
  console.log(`  2. qmd start --home ${root} --smtp 0.0.0.0:25 ...   # or qmd install --systemd`);
  console.log("  3. keep qmail's own services down (svc -d /service/qmail-*; remove their links)");
  return EXIT.ok;
}
