/**
 * Test helpers for DKIM signing: fresh keys, an in-memory mess/ file that
 * records its reads, and mailauth's verifier over the keys' records. Used
 * by tests only (appliance/remote/dkim_sign_test.ts, tests/dkim_e2e_test.ts).
 */
import { generateKeyPairSync } from "node:crypto";
import type { DkimAlgorithm, DkimKey } from "../../config/dkim.ts";
import { dkimRecord } from "./dkim_records.ts";
import type { MessageFile } from "./dkim_sign.ts";

/** A fresh key for domain/selector, as `qmd dkim add` makes one. */
export function makeDkimKey(domain: string, selector: string, algorithm: DkimAlgorithm): DkimKey {
  const { privateKey } = algorithm === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return { domain, selector, algorithm, privateKey: pem, file: `${domain}/${selector}.key` };
}

/** A resolver in node's shape answering the keys' TXT records, for mailauth's verifier. */
export function keyResolver(keys: DkimKey[]) {
  const zone = new Map(keys.map((key) => {
    const record = dkimRecord(key);
    return [record.name, record.text];
  }));
  return (name: string, type: string): Promise<string[][]> => {
    const text = zone.get(name);
    if (type !== "TXT" || text === undefined) {
      return Promise.reject(Object.assign(new Error(`${name} ${type}`), { code: "ENOTFOUND" }));
    }
    // Split in 255-byte character-strings, as DNS carries a 2048-bit key.
    return Promise.resolve([text.match(/.{1,255}/g)!]);
  };
}

/** The DKIM results mailauth's verifier gives for a message as the receiver reads it. */
export async function verifyDkim(
  message: Uint8Array | string,
  keys: DkimKey[],
): Promise<{ result: string; domain: string; selector: string; algorithm: string }[]> {
  const { dkimVerify } = await import("mailauth/lib/dkim/verify.js");
  const verified = await dkimVerify(
    typeof message === "string" ? message : new TextDecoder("latin1").decode(message),
    { resolver: keyResolver(keys) },
  );
  // deno-lint-ignore no-explicit-any
  return verified.results.map((entry: any) => ({
    result: entry.status.result,
    domain: entry.signingDomain,
    selector: entry.selector,
    algorithm: entry.algo,
  }));
}

/** An in-memory mess/ file that records every read's buffer size. */
export class MemoryFile implements MessageFile {
  readonly bytes: Uint8Array;
  readonly reads: number[] = [];
  #offset = 0;
  constructor(bytes: Uint8Array | string) {
    this.bytes = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  }
  read(buffer: Uint8Array): Promise<number | null> {
    this.reads.push(buffer.length);
    if (this.#offset >= this.bytes.length) return Promise.resolve(null);
    const part = this.bytes.subarray(this.#offset, this.#offset + buffer.length);
    buffer.set(part);
    this.#offset += part.length;
    return Promise.resolve(part.length);
  }
  seek(offset: number | bigint): Promise<number> {
    this.#offset = Number(offset);
    return Promise.resolve(this.#offset);
  }
}
