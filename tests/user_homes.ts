/**
 * System-style user homes for end-to-end tests: a qmd home plus a directory
 * outside it whose homes users/assign names (qmail-users(5)).
 */
import { maildirNew, makeInitedHome, waitFor } from "./harness.ts";

/** A `qmd init`ed home for `me` (no DNS: remote mail stays queued) and an empty outside directory. */
export async function homeWithOutsideUsers(me: string): Promise<{ home: string; outside: string }> {
  const home = await makeInitedHome({}, me);
  const outside = await Deno.makeTempDir({ prefix: "qmd-users-" });
  return { home, outside };
}

/** A home outside the qmd home, as `maildirmake` and an editor leave it, with its .qmail. */
export function makeUserHome(dir: string, dotQmail: string): string {
  Deno.mkdirSync(dir, { mode: 0o700 });
  for (const sub of ["tmp", "new", "cur"]) {
    Deno.mkdirSync(`${dir}/Maildir/${sub}`, { recursive: true, mode: 0o700 });
  }
  Deno.writeTextFileSync(`${dir}/.qmail`, dotQmail, { mode: 0o600 });
  return dir;
}

/** Writes users/assign with one `=name` line a user, each owned by this process's uid and gid. */
export function writeAssign(home: string, users: Record<string, string>): void {
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  const lines = Object.entries(users).map(([name, dir]) =>
    `=${name}:${name}:${uid}:${gid}:${dir}:::`
  );
  Deno.writeTextFileSync(`${home}/users/assign`, [...lines, "."].join("\n") + "\n");
}

/** Waits (up to 20 s) until `maildir`/new holds a message; returns its files. */
export function delivered(maildir: string, output: () => string): Promise<string[]> {
  return waitFor(
    () => {
      const files = maildirNew(maildir);
      return files.length > 0 ? files : undefined;
    },
    20_000,
    () => `delivery to ${maildir}\n${output()}`,
  );
}
