/**
 * The history of every control file change the console made, under
 * HOME/admin/history: one JSON file per change, numbered in order
 * (`000001.json`), holding the file's name and its bytes before and after
 * (base64; null for a file that did not exist). A rollback writes a
 * change's "before" bytes back, exactly, and is itself recorded as a
 * change. The files themselves are written by the supervisor (admin_writes.ts).
 */
import { Buffer } from "node:buffer";
import { adminPaths } from "./admin_state.ts";

export interface ControlChange {
  /** The change's number, from 1. */
  number: number;
  /** Unix ms. */
  time: number;
  name: string;
  before: Uint8Array | null;
  after: Uint8Array | null;
  /** Who made it: "console" or "token NAME"; for a rollback, which change it undid. */
  by: string;
  rollbackOf?: number;
}

function encode(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString("base64");
}

function decode(text: string | null): Uint8Array | null {
  return text === null ? null : new Uint8Array(Buffer.from(text, "base64"));
}

/** Every recorded change, oldest first; `name` keeps only that file's. */
export function listChanges(home: string, name?: string): ControlChange[] {
  const directory = adminPaths(home).history;
  let names: string[];
  try {
    names = Array.from(Deno.readDirSync(directory), (entry) => entry.name)
      .filter((file) => /^\d{6,}\.json$/.test(file)).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const changes = names.map((file) => {
    const stored = JSON.parse(Deno.readTextFileSync(`${directory}/${file}`));
    return { ...stored, before: decode(stored.before), after: decode(stored.after) };
  }) as ControlChange[];
  return name === undefined ? changes : changes.filter((change) => change.name === name);
}

/** One change by number, or undefined. */
export function findChange(home: string, number: number): ControlChange | undefined {
  return listChanges(home).find((change) => change.number === number);
}

/**
 * Records a change of control/`name` from `before` to `after` (the caller
 * has made it, through the supervisor: admin_writes.ts).
 */
export function recordChange(
  home: string,
  name: string,
  before: Uint8Array | null,
  after: Uint8Array | null,
  by: string,
  rollbackOf?: number,
): ControlChange {
  const directory = adminPaths(home).history;
  Deno.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const number = (listChanges(home).at(-1)?.number ?? 0) + 1;
  const change: ControlChange = { number, time: Date.now(), name, before, after, by };
  if (rollbackOf !== undefined) change.rollbackOf = rollbackOf;
  Deno.writeTextFileSync(
    `${directory}/${String(number).padStart(6, "0")}.json`,
    JSON.stringify({ ...change, before: encode(before), after: encode(after) }),
    { mode: 0o600, createNew: true },
  );
  return change;
}
