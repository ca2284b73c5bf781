/**
 * The ownership rule for what qmd creates in a home: files and directories
 * belong to the home directory's owner. qmd runs as one uid (README, "One
 * uid"); a command run as root on a home owned by the qmd user would
 * otherwise leave root-owned files (accounts.sqlite-wal, control files, a
 * Maildir) that the appliance, running as that user, can no longer write.
 *
 * A path owned by root (so made by this process running as root) is
 * chowned to the home's uid and gid when the home belongs to someone else.
 * Nothing else is touched: a process that is not root makes no root-owned
 * files, so it never tries a chown it may not do, and it needs no
 * permission to ask for its own uid (the roles' isolates have none). Paths
 * that do not exist are skipped (SQLite's -wal and -shm come and go), and so
 * is a home this process may not stat or a path it may not chown (a role's
 * sandbox).
 */

/** Gives each existing root-owned path to the owner of `home` (see the file comment). */
export function giveToHomeOwner(home: string, paths: readonly string[]): void {
  let owner: Deno.FileInfo;
  try {
    owner = Deno.statSync(home);
  } catch (error) {
    if (isNotAllowed(error)) return;
    throw error;
  }
  if (owner.uid === null || owner.gid === null || owner.uid === 0) return;
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (info.uid !== 0 || info.isSymlink) continue;
    try {
      Deno.chownSync(path, owner.uid, owner.gid);
    } catch (error) {
      // A role's sandbox that may write the file but not chown it.
      if (!isNotAllowed(error)) throw error;
    }
  }
}

/** Deno's sandbox (NotCapable) or the system (EPERM, EACCES) said no. */
function isNotAllowed(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}
