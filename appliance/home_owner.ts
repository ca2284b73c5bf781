/**
 * The ownership rule for what qmd creates in a home: files and directories
 * belong to the home directory's owner. qmd runs as one uid (README, "One
 * uid"); a command run as root on a home owned by the qmd user would
 * otherwise leave root-owned files (accounts.sqlite-wal, control files, a
 * Maildir) that the appliance, running as that user, can no longer write.
 *
 * Only root can give a file away, so as any other user this does nothing;
 * as root, a path that root owns is chowned to the home's uid and gid when
 * the home belongs to someone else. Paths that do not exist are skipped
 * (SQLite's -wal and -shm files come and go).
 */

/** The uid and gid new paths in `home` should get, or undefined when nothing needs changing. */
export function homeOwnerFor(home: string): { uid: number; gid: number } | undefined {
  let self: number | null;
  try {
    self = Deno.uid();
  } catch (error) {
    // A role isolate may not ask (no sys permission): it cannot chown either, and the
    // files it opens (accounts.sqlite for greylisting) were made by the commands that can.
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
  if (self !== 0) return undefined;
  const info = Deno.statSync(home);
  if (info.uid === null || info.gid === null || info.uid === self) return undefined;
  return { uid: info.uid, gid: info.gid };
}

/** Gives each existing path that root owns to the owner of `home` (see the file comment). */
export function giveToHomeOwner(home: string, paths: readonly string[]): void {
  const owner = homeOwnerFor(home);
  if (owner === undefined) return;
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (info.uid !== 0 || info.isSymlink) continue;
    Deno.chownSync(path, owner.uid, owner.gid);
  }
}
