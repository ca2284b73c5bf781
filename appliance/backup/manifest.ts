/**
 * A backup's manifest, DIR/qmd-backup.json: what the backup holds and how
 * to check it. Every file is listed with its size and SHA-256, every
 * directory with its mode, so `qmd restore` can refuse a damaged or
 * incomplete backup before it touches the home. The manifest is written
 * last: a directory without one is an interrupted backup.
 */
import { createHash } from "node:crypto";
import { MailError } from "../mail_error.ts";

/**
 * A backup or restore refused for a reason the operator must fix: permanent
 * (exit 100); other errors are I/O and temporary (111).
 */
export class BackupRefusal extends MailError {
  constructor(message: string) {
    super(message, { temporary: false });
    this.name = "BackupRefusal";
  }
}

export const MANIFEST_NAME = "qmd-backup.json";
const FORMAT = "qmd-backup";
const VERSION = 1;

/** One file or directory, by its path relative to the home (and to the backup). */
export interface BackupEntry {
  path: string;
  kind: "file" | "directory";
  /** Permission bits. */
  mode: number;
  /** Modification time, ms since the epoch (files). */
  mtime?: number;
  bytes?: number;
  sha256?: string;
}

export interface BackupManifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  /** ISO 8601 time the backup was made. */
  created: string;
  /** The home it was made from. */
  home: string;
  /** Whether the queue and the Maildirs are in it. */
  queue: boolean;
  maildirs: boolean;
  /** The accounts database (SQLite's online backup), when the home had one. */
  accounts?: { path: string; bytes: number; sha256: string; domains: number; mailboxes: number };
  /** Messages in the copied queue (with queue). */
  queueMessages?: number;
  entries: BackupEntry[];
}

/** The SHA-256 of `bytes`, in hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A manifest for the given parts (format and version filled in). */
export function makeManifest(
  parts: Omit<BackupManifest, "format" | "version">,
): BackupManifest {
  return { format: FORMAT, version: VERSION, ...parts };
}

/** Parses DIR/qmd-backup.json; throws an Error naming `path` and what is wrong. */
export function parseManifest(text: string, path: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BackupRefusal(`${path} is not JSON: ${(error as Error).message}`);
  }
  const manifest = value as Partial<BackupManifest>;
  if (manifest?.format !== FORMAT) throw new BackupRefusal(`${path} is not a qmd backup manifest`);
  if (manifest.version !== VERSION) {
    throw new BackupRefusal(
      `${path} has version ${manifest.version}; this qmd reads version ${VERSION}`,
    );
  }
  if (!Array.isArray(manifest.entries)) throw new BackupRefusal(`${path} lists no entries`);
  manifest.entries.forEach((entry, index) => {
    const where = `${path}: entry ${index + 1}`;
    if (typeof entry?.path !== "string" || !isSafeRelativePath(entry.path)) {
      throw new BackupRefusal(`${where} has an unsafe path ${JSON.stringify(entry?.path)}`);
    }
    if (entry.kind !== "file" && entry.kind !== "directory") {
      throw new BackupRefusal(`${where} (${entry.path}) has no kind`);
    }
    if (!Number.isInteger(entry.mode)) {
      throw new BackupRefusal(`${where} (${entry.path}) has no mode`);
    }
    if (
      entry.kind === "file" && (typeof entry.sha256 !== "string" || !Number.isInteger(entry.bytes))
    ) {
      throw new BackupRefusal(`${where} (${entry.path}) has no size or checksum`);
    }
  });
  return manifest as BackupManifest;
}

/** A relative path with no `..`, `.` or empty part: it cannot leave the directory it is joined to. */
export function isSafeRelativePath(path: string): boolean {
  return path !== "" && !path.startsWith("/") &&
    path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}
