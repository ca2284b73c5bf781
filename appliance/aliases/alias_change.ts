/**
 * Adding and deleting an alias as one step each, with the sentence that
 * says what was done: `qmd alias add|del` prints it, the admin console
 * (through the supervisor, which may write the .qmail files) shows it.
 */
import type { AccountStore } from "../accounts/store.ts";
import { addForwards, findAliasFile, removeForwards } from "./alias_files.ts";

/** Appends forwards to `targets` to the file mail to `address` reads; says what changed. */
export async function addAlias(
  store: AccountStore,
  address: string,
  targets: string[],
): Promise<string> {
  const file = await findAliasFile(store, address);
  const added = addForwards(store.home, file, targets);
  return added.length === 0
    ? `${file.address} already forwards to ${targets.join(", ")}`
    : `${file.address} now forwards to ${added.join(", ")} (${file.path})`;
}

/** Removes the forwards to `targets`, or with none the whole alias; says what changed. */
export async function deleteAlias(
  store: AccountStore,
  address: string,
  targets: string[],
): Promise<string> {
  const file = await findAliasFile(store, address);
  return removeForwards(store.home, file, targets)
    ? `removed ${file.address} (${file.path})`
    : `${file.address} no longer forwards to ${targets.join(", ")}`;
}
