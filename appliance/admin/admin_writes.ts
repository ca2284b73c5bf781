/**
 * The console's changes to the home outside HOME/admin: a control file
 * written or removed, a mailbox's password or quotas, an alias added or
 * deleted (its .qmail file). The admin isolate may not write those files
 * itself (role_table.ts); it posts each change to the supervisor (`admin-write`), which applies it here and answers with the
 * outcome. A queue request travels the same way and the supervisor hands
 * it to the send role, as it does `qmd queue`'s (Supervisor.controlQueue):
 * the admin isolate never writes the queue. Only these kinds exist, so the
 * console cannot ask for any other write; a control file must be one qmd
 * reads (the controls table).
 */
import { homePaths } from "../../config/home.ts";
import { AccountStore } from "../accounts/store.ts";
import { AccountError } from "../accounts/account_names.ts";
import { isEditableControl } from "./control_check.ts";
import { writeFileAtomically } from "../control_files.ts";
import { addAlias, deleteAlias } from "../aliases/alias_change.ts";

import type { AdminWrite, AdminWriteResult, FromRole, ToRole } from "../ipc.ts";
import type { QueueReply, QueueRequest } from "../queue/control_request.ts";

export type { AdminWrite, AdminWriteResult } from "../ipc.ts";

/** Who carries a queue request out: the supervisor's send role, or `controlQueue` in tests. */
export type QueueCarrier = (request: QueueRequest) => Promise<QueueReply>;

/**
 * The supervisor's answer to the admin isolate's `admin-write`: the change
 * applied or the queue request carried out, or why not.
 */
export async function answerAdminWrite(
  home: string,
  message: FromRole & { type: "admin-write" },
  carryQueue: QueueCarrier,
): Promise<ToRole> {
  return {
    type: "admin-write-result",
    request: message.request,
    result: await applyAdminRequest(home, message.write, carryQueue),
  };
}

/** Carries out one write or queue request (in the supervisor). Never throws. */
export async function applyAdminRequest(
  home: string,
  write: AdminWrite,
  carryQueue: QueueCarrier,
): Promise<AdminWriteResult> {
  if (write.kind === "alias") return await changeAlias(home, write);
  if (write.kind !== "queue") return applyAdminWrite(home, write);
  try {
    return { ok: true, queue: await carryQueue(write.request) };
  } catch (error) {
    return { ok: false, error: (error as Error).message, status: 500 };
  }
}

/** A refusal as a result: an AccountError's reason (400, 404 when missing), else 500. */
function refusal(error: unknown): AdminWriteResult {
  if (error instanceof AccountError) {
    return { ok: false, error: error.message, status: error.kind === "missing" ? 404 : 400 };
  }
  return { ok: false, error: (error as Error).message, status: 500 };
}

/** `qmd alias add|del`'s change (aliases/alias_change.ts), with its sentence. */
async function changeAlias(
  home: string,
  write: Extract<AdminWrite, { kind: "alias" }>,
): Promise<AdminWriteResult> {
  try {
    const store = AccountStore.open(home);
    try {
      const change = write.change === "add" ? addAlias : deleteAlias;
      return { ok: true, text: await change(store, write.address, write.targets) };
    } finally {
      store.close();
    }
  } catch (error) {
    return refusal(error);
  }
}

/** Applies one change to a file (in the supervisor). Never throws: a failure is the result. */
export function applyAdminWrite(
  home: string,
  write: Exclude<AdminWrite, { kind: "queue" | "alias" }>,
): AdminWriteResult {
  try {
    if (write.kind === "control") {
      replaceControl(home, write.name, write.bytes);
      return { ok: true };
    }
    const store = AccountStore.open(home);
    try {
      if (write.kind === "password") {
        store.setPassword(write.address, write.password, { challengeAuth: write.challengeAuth });
      } else {
        store.setQuota(write.address, {
          quotaBytes: write.quotaBytes,
          quotaMessages: write.quotaMessages,
        });
      }
    } finally {
      store.close();
    }
    return { ok: true };
  } catch (error) {
    return refusal(error);
  }
}

/**
 * Replaces control/NAME as `qmd domain` does (control_files.ts: temporary
 * file, fsync, rename, the old mode kept), or removes it.
 */
function replaceControl(home: string, name: string, bytes: Uint8Array | null): void {
  if (!isEditableControl(name)) throw new Error(`control/${name} is not a file qmd reads`);
  const path = `${homePaths(home).control}/${name}`;
  if (bytes === null) {
    try {
      Deno.removeSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return;
  }
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  writeFileAtomically(path, bytes, 0o644);
}
