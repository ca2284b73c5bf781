/**
 * `qmd backup`: a copy of what makes a home, laid out as the home itself
 * (so qmail tools and `qmd --home DIR ...` can read it), with a manifest
 * (manifest.ts) written last.
 *
 * Always: control/, users/, the top-level tcp.* rules and their cdbs,
 * accounts.lines, the .qmail files of the alias user, of each domain
 * (mail/DOMAIN) and of each mailbox (mail/DOMAIN/USER), and the accounts
 * database through SQLite's online backup. With `queue`, queue/ (its lock/
 * FIFO aside); with `maildirs`, all of alias/ and mail/. The copy of a
 * running home is consistent for the database; queue files and Maildir
 * messages that move while they are copied can be missed, so back up the
 * queue with qmd stopped when it must be exact.
 */
import { homePaths } from "../../config/home.ts";
import { backupAccountDatabase } from "../accounts/account_backup.ts";
import { writeFileAtomically } from "../control_files.ts";
import { isNotFound } from "../durable_file.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import {
  type BackupEntry,
  type BackupManifest,
  BackupRefusal,
  makeManifest,
  MANIFEST_NAME,
  sha256,
} from "./manifest.ts";

export interface BackupOptions {
  queue: boolean;
  maildirs: boolean;
}

export interface BackupResult {
  manifest: BackupManifest;
  /** Paths that vanished while being copied, or are not files or directories. */
  skipped: string[];
}

/** What to do with one path: copy it and all below it, only it, or nothing. */
type Choice = "tree" | "directory" | "file" | "skip";

/** The backup's rule for one path (its parts relative to the home), outside a "tree". */
function choose(parts: string[], isDirectory: boolean, options: BackupOptions): Choice {
  const top = parts[0];
  if (parts.length === 1) {
    if (!isDirectory) return /^tcp\./.test(top) || top === "accounts.lines" ? "file" : "skip";
    if (top === "control" || top === "users") return "tree";
    if (top === "queue") return options.queue ? "tree" : "skip";
    if (top === "mail" || top === "alias") return options.maildirs ? "tree" : "directory";
    return "skip";
  }
  // Below mail/ and alias/ without the Maildirs: the .qmail files, and the
  // directories that hold them (mail/DOMAIN and mail/DOMAIN/USER).
  if (!isDirectory) return parts[parts.length - 1].startsWith(".qmail") ? "file" : "skip";
  return top === "mail" && parts.length <= 3 ? "directory" : "skip";
}

/** Whether `dir` is missing or an empty directory (a backup may go there). */
export function isMissingOrEmpty(dir: string): boolean {
  try {
    for (const _ of Deno.readDirSync(dir)) return false;
    return true;
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
}

class BackupWriter {
  readonly entries: BackupEntry[] = [];
  readonly skipped: string[] = [];
  readonly #home: string;
  readonly #dir: string;
  readonly #options: BackupOptions;

  constructor(home: string, dir: string, options: BackupOptions) {
    this.#home = home;
    this.#dir = dir;
    this.#options = options;
  }

  /** Walks the directory at `relative` ("" for the home), copying what the rules choose. */
  walk(relative: string, wholeTree: boolean): void {
    const source = relative === "" ? this.#home : `${this.#home}/${relative}`;
    const names = [...Deno.readDirSync(source)].map((entry) => entry.name).sort();
    for (const name of names) {
      const path = relative === "" ? name : `${relative}/${name}`;
      let info: Deno.FileInfo;
      try {
        info = Deno.lstatSync(`${this.#home}/${path}`);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.skipped.push(path);
        continue;
      }
      if (!info.isFile && !info.isDirectory) {
        // The queue's lock/trigger FIFO is remade by restore; symlinks and
        // sockets are named as not copied.
        if (!info.isFifo) this.skipped.push(path);
        continue;
      }
      const choice = wholeTree
        ? (info.isDirectory ? "tree" : "file")
        : choose(path.split("/"), info.isDirectory, this.#options);
      if (choice === "skip") continue;
      if (choice === "file") {
        this.#copyFile(path, info);
        continue;
      }
      Deno.mkdirSync(`${this.#dir}/${path}`, { mode: 0o700 });
      this.entries.push({ path, kind: "directory", mode: (info.mode ?? 0o700) & 0o7777 });
      this.walk(path, choice === "tree");
    }
  }

  #copyFile(path: string, info: Deno.FileInfo): void {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(`${this.#home}/${path}`);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.skipped.push(path); // moved meanwhile (a Maildir message read, a queue entry done)
      return;
    }
    const target = `${this.#dir}/${path}`;
    const mode = (info.mode ?? 0o600) & 0o7777;
    Deno.writeFileSync(target, bytes, { createNew: true, mode: 0o600 });
    Deno.chmodSync(target, mode);
    if (info.atime !== null && info.mtime !== null) Deno.utimeSync(target, info.atime, info.mtime);
    this.entries.push({
      path,
      kind: "file",
      mode,
      mtime: info.mtime?.getTime(),
      bytes: bytes.length,
      sha256: sha256(bytes),
    });
  }

  /** Gives the copied directories their modes, deepest first (a read-only one last). */
  applyDirectoryModes(): void {
    for (const entry of [...this.entries].reverse()) {
      if (entry.kind === "directory") Deno.chmodSync(`${this.#dir}/${entry.path}`, entry.mode);
    }
  }
}

/** Writes a backup of `home` into `dir` (missing or empty). */
export async function writeBackup(
  home: string,
  dir: string,
  options: BackupOptions,
  now: Date,
): Promise<BackupResult> {
  if (dir === home || dir.startsWith(`${home}/`)) {
    throw new BackupRefusal(`${dir} is inside the home ${home}; put the backup elsewhere`);
  }
  if (!isMissingOrEmpty(dir)) {
    throw new BackupRefusal(`${dir} is not empty; give a new directory for the backup`);
  }
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(dir, 0o700); // it holds password hashes
  const writer = new BackupWriter(home, dir, options);
  writer.walk("", false);
  writer.applyDirectoryModes();
  let accounts: BackupManifest["accounts"];
  try {
    Deno.statSync(homePaths(home).accounts);
    const path = "accounts.sqlite";
    const counts = await backupAccountDatabase(home, `${dir}/${path}`);
    const bytes = Deno.readFileSync(`${dir}/${path}`);
    accounts = { path, bytes: bytes.length, sha256: sha256(bytes), ...counts };
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const manifest = makeManifest({
    created: now.toISOString(),
    home,
    queue: options.queue,
    maildirs: options.maildirs,
    accounts,
    queueMessages: options.queue ? queueLayoutFor(dir).listIds("mess").length : undefined,
    entries: writer.entries,
  });
  const text = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
  writeFileAtomically(`${dir}/${MANIFEST_NAME}`, text, 0o600);
  return { manifest, skipped: writer.skipped };
}
