/**
 * `qmd restore`: a backup (write_backup.ts) put back into a home. Nothing is
 * written until the whole backup checks out against its manifest (every
 * size and SHA-256), the home is not running, and the home is empty or
 * `force` is given. Then the files are written (each through a temporary
 * file and rename, keeping its mode and time), the accounts database is put
 * in place, `qmd init`'s steps complete whatever the backup does not hold
 * (the queue's directories and lock/trigger FIFO, alias/Maildir), and the
 * queue's messages are copied in under new numbers (queue/copy_queue.ts).
 * Files of the home that the backup does not name are left alone.
 */
import { homePaths } from "../../config/home.ts";
import { restoreAccountDatabase } from "../accounts/account_backup.ts";
import { writeFileAtomically } from "../control_files.ts";
import { isNotFound } from "../durable_file.ts";
import { findSupervisor } from "../home/running.ts";
import { initHome } from "../home/init_home.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import { copyQueueMessages } from "../queue/copy_queue.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import {
  type BackupManifest,
  BackupRefusal,
  MANIFEST_NAME,
  parseManifest,
  sha256,
} from "./manifest.ts";
import { isMissingOrEmpty } from "./write_backup.ts";

export interface RestoreResult {
  manifest: BackupManifest;
  /** Files written from the backup. */
  files: number;
  /** Messages copied into the queue. */
  queueMessages: number;
}

/** Reads and checks the manifest and every file it names; throws naming the first problem. */
export function readCheckedBackup(dir: string): BackupManifest {
  const path = `${dir}/${MANIFEST_NAME}`;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (isNotFound(error)) {
      throw new BackupRefusal(
        `${dir} has no ${MANIFEST_NAME}: not a qmd backup, or an interrupted one`,
      );
    }
    throw error;
  }
  const manifest = parseManifest(text, path);
  const files = manifest.entries.filter((entry) => entry.kind === "file");
  const checks = [...files, ...(manifest.accounts ? [manifest.accounts] : [])];
  for (const file of checks) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(`${dir}/${file.path}`);
    } catch (error) {
      if (isNotFound(error)) {
        throw new BackupRefusal(`the backup lacks ${file.path} (${path} lists it)`);
      }
      throw error;
    }
    if (bytes.length !== file.bytes || sha256(bytes) !== file.sha256) {
      throw new BackupRefusal(`${dir}/${file.path} differs from its size or checksum in ${path}`);
    }
  }
  return manifest;
}

/** Why restoring into `home` must not start, or undefined. */
function findRestoreProblem(
  home: string,
  manifest: BackupManifest,
  force: boolean,
): string | undefined {
  const running = findSupervisor(home);
  if (running.ok) return `qmd is running on ${home} (pid ${running.pid}); stop it first`;
  if (!force && !isMissingOrEmpty(home)) {
    return `${home} is not empty; restore into a new home, or give --force to write over it`;
  }
  if (manifest.queue && !isMissingOrEmpty(homePaths(home).queue)) {
    const messages = queueLayoutFor(home).listIds("mess").length;
    if (messages > 0) {
      return `${home}/queue holds ${messages} messages; restore a queue only into an empty one`;
    }
  }
  return undefined;
}

/** Restores the backup in `dir` into `home`. */
export async function restoreBackup(
  dir: string,
  home: string,
  options: { force: boolean },
): Promise<RestoreResult> {
  const manifest = readCheckedBackup(dir);
  const problem = findRestoreProblem(home, manifest, options.force);
  if (problem !== undefined) throw new BackupRefusal(problem);
  Deno.mkdirSync(home, { recursive: true, mode: 0o755 });
  const created: string[] = [];
  const isQueue = (path: string) => path === "queue" || path.startsWith("queue/");
  let files = 0;
  for (const entry of manifest.entries) {
    if (isQueue(entry.path)) continue;
    const target = `${home}/${entry.path}`;
    created.push(target);
    if (entry.kind === "directory") {
      Deno.mkdirSync(target, { recursive: true, mode: 0o700 });
      continue;
    }
    writeFileAtomically(target, Deno.readFileSync(`${dir}/${entry.path}`), entry.mode, home);
    Deno.chmodSync(target, entry.mode);
    if (entry.mtime !== undefined) Deno.utimeSync(target, new Date(), new Date(entry.mtime));
    files++;
  }
  for (const entry of [...manifest.entries].reverse()) {
    if (entry.kind === "directory" && !isQueue(entry.path)) {
      Deno.chmodSync(`${home}/${entry.path}`, entry.mode);
    }
  }
  if (manifest.accounts) restoreAccountDatabase(`${dir}/${manifest.accounts.path}`, home);
  const init = await initHome(home);
  created.push(...init.created.map((path) => `${home}/${path}`));
  let queueMessages = 0;
  if (manifest.queue) {
    const copy = copyQueueMessages(queueLayoutFor(dir), queueLayoutFor(home));
    queueMessages = copy.messages;
    created.push(...copy.created);
  }
  giveToHomeOwner(home, [home, ...created]);
  return { manifest, files, queueMessages };
}
