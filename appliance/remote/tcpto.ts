/**
 * qmail's tcpto table, queue/lock/tcpto (docs/queue-format.md §5.9), byte for
 * byte so qmail-tcpto and qmail-tcpok read and clear it:
 *
 *   1024 bytes = 64 records × 16: bytes 0–3 IPv4 address (network order),
 *   byte 4 count of recent timeouts (0 = free slot, at most 10), bytes 8–11
 *   time of the last counted timeout, 32-bit little-endian Unix seconds.
 *
 * Every access opens the file read+write and takes an exclusive flock
 * (Deno.FsFile.lock(true)) on that handle, as qmail-remote does (it reads
 * through a second descriptor; one read+write handle is equivalent), and
 * rewrites single 16-byte records in place. Only IPv4 is recorded: for IPv6
 * addresses isDead is false and recordAttempt does nothing, as in qmail. A
 * missing file means "nothing is dead" and is not created (qmail's open_write);
 * clearTcpto creates it (qmail-rspawn's start-up zeroing, plus the install).
 *
 * Times are Unix seconds passed in by the caller.
 */

/** The table's size: 64 records of 16 bytes. */
export const TCPTO_SIZE = 1024;
const RECORD = 16;

export interface TcptoRecord {
  /** Slot number 0–63. */
  slot: number;
  ip: string;
  /** Recent timeouts; 0 = free slot. */
  count: number;
  /** Unix seconds of the last counted timeout. */
  when: number;
}

function ipv4Bytes(ip: string): Uint8Array | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!match) return undefined;
  const bytes = match.slice(1).map(Number);
  if (bytes.some((byte) => byte > 255)) return undefined;
  return Uint8Array.from(bytes);
}

/** Every record of a tcpto file's bytes (bytes_read / 16 of them), free ones included. */
export function parseTcpto(bytes: Uint8Array): TcptoRecord[] {
  const records: TcptoRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let slot = 0; slot < Math.floor(bytes.length / RECORD); slot++) {
    const base = slot * RECORD;
    records.push({
      slot,
      ip: Array.from(bytes.subarray(base, base + 4)).join("."),
      count: bytes[base + 4],
      when: view.getUint32(base + 8, true),
    });
  }
  return records;
}

/** One record's 16 bytes. */
export function formatTcptoRecord(ip: string, count: number, when: number): Uint8Array {
  const record = new Uint8Array(RECORD);
  const address = ipv4Bytes(ip);
  if (address === undefined) throw new Error(`Not an IPv4 address: ${ip}`);
  record.set(address, 0);
  record[4] = count;
  new DataView(record.buffer).setUint32(8, when >>> 0, true);
  return record;
}

async function withLockedTable<T>(
  path: string,
  fallback: T,
  action: (file: Deno.FsFile, records: TcptoRecord[]) => Promise<T>,
): Promise<T> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return fallback;
    throw error;
  }
  try {
    await file.lock(true);
    const buffer = new Uint8Array(TCPTO_SIZE);
    let filled = 0;
    for (let reads = 0; reads < TCPTO_SIZE && filled < TCPTO_SIZE; reads++) {
      const count = await file.read(buffer.subarray(filled));
      if (count === null || count === 0) break;
      filled += count;
    }
    return await action(file, parseTcpto(buffer.subarray(0, filled)));
  } finally {
    file.close(); // closing releases the lock
  }
}

async function writeRecord(file: Deno.FsFile, slot: number, record: Uint8Array): Promise<void> {
  await file.seek(slot * RECORD, Deno.SeekMode.Start);
  let written = 0;
  for (let writes = 0; writes < RECORD && written < RECORD; writes++) {
    written += await file.write(record.subarray(written));
  }
}

/** qmail-tcpto's view: the table's records (all slots). Missing file → []. */
export async function readTcpto(path: string): Promise<TcptoRecord[]> {
  return await withLockedTable(path, [], (_file, records) => Promise.resolve(records));
}

/**
 * Whether ip is marked dead (§5.9): the first record for it has count ≥ 2 and
 * now − when < (60 + pid mod 32) × 64 seconds.
 */
export async function isDead(path: string, ip: string, now: number, pid: number): Promise<boolean> {
  if (ipv4Bytes(ip) === undefined) return false;
  return await withLockedTable(path, false, (_file, records) => {
    const record = records.find((candidate) => candidate.ip === ip);
    if (record === undefined || record.count < 2) return Promise.resolve(false);
    return Promise.resolve(now - record.when < (60 + (pid % 32)) * 64);
  });
}

/**
 * Records a connection attempt (§5.9, tcpto.c's tcpto_err): "ok" or
 * "refused" reset the address's count; "timeout" counts one more timeout
 * (not again within 120 s, at most 10) or takes a free slot (else the slot
 * with the smallest when + count × 1024).
 */
export async function recordAttempt(
  path: string,
  ip: string,
  outcome: "ok" | "refused" | "timeout",
  now: number,
): Promise<void> {
  if (ipv4Bytes(ip) === undefined) return;
  await withLockedTable(path, undefined, async (file, records) => {
    const existing = records.find((record) => record.ip === ip);
    if (outcome !== "timeout") {
      if (existing !== undefined && existing.count > 0) {
        await writeRecord(file, existing.slot, formatTcptoRecord(ip, 0, existing.when));
      }
      return;
    }
    if (existing !== undefined && existing.count > 0) {
      if (now - existing.when < 120) return;
      const count = Math.min(existing.count + 1, 10);
      await writeRecord(file, existing.slot, formatTcptoRecord(ip, count, now));
      return;
    }
    if (records.length === 0) return;
    let slot = records.find((record) => record.count === 0)?.slot;
    if (slot === undefined) {
      let best = records[0];
      for (const record of records) {
        if (record.when + record.count * 1024 < best.when + best.count * 1024) best = record;
      }
      slot = best.slot;
    }
    await writeRecord(file, slot, formatTcptoRecord(ip, 1, now));
  });
}

/** qmail-rspawn's start-up (and qmail-tcpok): 1024 NUL bytes; creates the file if needed. */
export async function clearTcpto(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, mode: 0o644 });
  try {
    await file.lock(true);
    await file.truncate(0);
    const zeros = new Uint8Array(TCPTO_SIZE);
    let written = 0;
    for (let writes = 0; writes < TCPTO_SIZE && written < TCPTO_SIZE; writes++) {
      written += await file.write(zeros.subarray(written));
    }
  } finally {
    file.close();
  }
}
