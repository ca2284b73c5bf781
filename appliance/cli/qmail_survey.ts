/**
 * What an existing qmail installation holds, for `qmd import-qmail`'s dry
 * run: control files (those qmd reads, those it knows but does not read yet,
 * those it does not know), users/assign and its cdb, the .qmail files of the
 * alias user and of the homes users/assign names, tcpserver rules, vpopmail
 * virtual domains and their mailboxes (vpasswd, else vpasswd.cdb) and the queue by state. Reads only;
 * a part that cannot be read is reported with its path, not thrown.
 */
import { CONTROLS } from "../../config/controls.ts";
import { parseAssign } from "../../config/users.ts";
import { bytesToString } from "../bytes.ts";
import { isNotFound } from "../durable_file.ts";
import { processesHolding } from "../home/running.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { readVpasswd, type VpasswdSource } from "./vpasswd.ts";

export interface QmailSurvey {
  root: string;
  control: {
    /** Every file in control/, sorted. */
    files: string[];
    /** Files qmd knows but does not read yet (the operator should know they are ignored). */
    notRead: string[];
    /** Files qmd does not know at all. */
    unknown: string[];
    me?: string;
    locals: string[];
    virtualdomains: string[];
  };
  users: { assignEntries?: number; cdb: boolean };
  /** .qmail files found (alias user's, and in the homes users/assign names). */
  dotQmail: string[];
  tcpRules: { path: string; rules: number; cdb: boolean }[];
  vpopmail?: {
    dir: string;
    domains: VpopmailDomain[];
  };
  queue?: {
    split: number;
    todo: "flat" | "big-todo";
    messages: number;
    /** Processes holding lock/sendmutex: a qmail-send (or qmd) running on this queue. */
    sendPids: number[];
    /** State counts by directory: todo/ (not preprocessed), info/ (being delivered), ... */
    states: Record<"intd" | "todo" | "info" | "local" | "remote" | "bounce", number>;
  };
  /** What could not be read, one line each naming the path. */
  problems: string[];
}

/** A vpopmail domain as the survey saw it (no password or hash: the survey may be printed). */
export interface VpopmailDomain {
  domain: string;
  /** DIR/domains/DOMAIN. */
  dir: string;
  /** The file the mailboxes were read from. */
  source: VpasswdSource;
  users: number;
  clearPasswords: number;
  cdb: boolean;
  mailboxes: {
    user: string;
    /** vpopmail's directory for it (its Maildir is DIR/Maildir). */
    dir: string;
    quotaBytes: number;
    quotaMessages: number;
    clearPassword: boolean;
  }[];
}

export interface SurveyOptions {
  /** tcpserver rules files to look at (their .cdb is looked for beside them). */
  tcpRules: string[];
  /** vpopmail's home (its domains/ holds DOMAIN/vpasswd). */
  vpopmail: string;
}

function readText(path: string): string | undefined {
  try {
    return bytesToString(Deno.readFileSync(path));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function names(dir: string, filter: (entry: Deno.DirEntry) => boolean): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter(filter).map((entry) => entry.name).sort();
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/** Lines that are neither blank nor comments. */
function listLines(text: string | undefined): string[] {
  return (text ?? "").split("\n").map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function surveyControl(root: string): QmailSurvey["control"] {
  const dir = `${root}/control`;
  const files = names(dir, (entry) => entry.isFile);
  const known = new Map(CONTROLS.map((spec) => [spec.name, spec]));
  return {
    files,
    notRead: files.filter((name) => known.get(name)?.read === false),
    unknown: files.filter((name) => !known.has(name)),
    me: listLines(readText(`${dir}/me`))[0],
    locals: listLines(readText(`${dir}/locals`)),
    virtualdomains: listLines(readText(`${dir}/virtualdomains`)),
  };
}

/** vpopmail's domains: DIR/domains/DOMAIN/vpasswd, or its vpasswd.cdb alone (vpasswd.ts). */
function surveyVpopmail(dir: string): QmailSurvey["vpopmail"] {
  const domainsDir = `${dir}/domains`;
  const domains = names(domainsDir, (entry) => entry.isDirectory).flatMap((domain) => {
    const domainDir = `${domainsDir}/${domain}`;
    const found = readVpasswd(domainDir);
    if (found === undefined) return [];
    const mailboxes = found.entries.map((entry) => ({
      user: entry.user,
      dir: entry.dir,
      quotaBytes: entry.quota.bytes,
      quotaMessages: entry.quota.messages,
      clearPassword: entry.clear !== "",
    }));
    return [{
      domain,
      dir: domainDir,
      source: found.source,
      users: mailboxes.length,
      clearPasswords: mailboxes.filter((mailbox) => mailbox.clearPassword).length,
      cdb: exists(`${domainDir}/vpasswd.cdb`),
      mailboxes,
    }];
  });
  return domains.length > 0 ? { dir, domains } : undefined;
}

function surveyQueue(root: string): QmailSurvey["queue"] {
  // qmail's root holds queue/ as a qmd home does.
  const layout = queueLayoutFor(root);
  if (!exists(layout.directory("mess"))) return undefined;
  const count = (name: "intd" | "todo" | "info" | "local" | "remote" | "bounce") =>
    layout.listIds(name).length;
  return {
    split: layout.split,
    todo: layout.todoSplit ? "big-todo" : "flat",
    messages: layout.listIds("mess").length,
    sendPids: processesHolding(layout.sendmutex),
    states: {
      intd: count("intd"),
      todo: count("todo"),
      info: count("info"),
      local: count("local"),
      remote: count("remote"),
      bounce: count("bounce"),
    },
  };
}

/** Surveys the qmail installation at `root` (e.g. /var/qmail). */
export function surveyQmail(root: string, options: SurveyOptions): QmailSurvey {
  const problems: string[] = [];
  const attempt = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const control = attempt(`${root}/control`, () => surveyControl(root)) ??
    { files: [], notRead: [], unknown: [], locals: [], virtualdomains: [] };
  const assignPath = `${root}/users/assign`;
  const assignText = attempt(assignPath, () => readText(assignPath));
  const assign = assignText === undefined
    ? undefined
    : attempt(assignPath, () => parseAssign(assignText, assignPath));
  const homes = new Set([`${root}/alias`, ...(assign ?? []).map((entry) => entry.home)]);
  const dotQmail = [...homes].flatMap((home) =>
    attempt(home, () =>
      names(home, (entry) => entry.isFile && entry.name.startsWith(".qmail"))
        .map((name) => `${home}/${name}`)) ?? []
  );
  const tcpRules = options.tcpRules.flatMap((path) => {
    const text = attempt(path, () => readText(path));
    const cdb = exists(`${path}.cdb`);
    if (text === undefined && !cdb) return [];
    return [{ path, rules: listLines(text).length, cdb }];
  });
  return {
    root,
    control,
    users: { assignEntries: assign?.length, cdb: exists(`${root}/users/cdb`) },
    dotQmail,
    tcpRules,
    vpopmail: attempt(options.vpopmail, () => surveyVpopmail(options.vpopmail)),
    queue: attempt(`${root}/queue`, () => surveyQueue(root)),
    problems,
  };
}
