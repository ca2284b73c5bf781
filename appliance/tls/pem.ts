/**
 * PEM blocks (RFC 7468): `-----BEGIN LABEL-----`, base64 lines,
 * `-----END LABEL-----`. qmail's TLS patch keeps the private key and the
 * certificate chain in one file (control/servercert.pem), so a file is read
 * as a list of blocks and text between them is ignored.
 *
 * Pure: no I/O.
 */
import { Buffer } from "node:buffer";
import { MailError } from "../mail_error.ts";

export interface PemBlock {
  /** e.g. "CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY", "X509 CRL". */
  label: string;
  /** The decoded bytes. */
  der: Uint8Array;
  /** The block re-encoded as formatPem writes it (64-character lines, no headers). */
  text: string;
  /** RFC 1421 headers inside the block (e.g. Proc-Type: 4,ENCRYPTED), lower-cased names. */
  headers: Record<string, string>;
}

/** A PEM file that cannot be used (unbalanced markers, bad base64). */
export class PemError extends MailError {
  constructor(reason: string) {
    super(reason, { temporary: false });
    this.name = "PemError";
  }
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const END = /^-----END ([A-Z0-9 ]+)-----$/;

/** Every block in `text`, in order. Throws PemError on a broken block. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  let label: string | undefined;
  let body: string[] = [];
  let headers: Record<string, string> = {};
  let beginLine = 0;
  lines.forEach((line, index) => {
    if (label === undefined) {
      const begin = line.match(BEGIN);
      if (begin) {
        label = begin[1];
        body = [];
        headers = {};
        beginLine = index + 1;
      } else if (END.test(line)) {
        throw new PemError(`line ${index + 1}: END without BEGIN`);
      }
      return;
    }
    const end = line.match(END);
    if (end) {
      if (end[1] !== label) {
        throw new PemError(`line ${index + 1}: END ${end[1]} does not close BEGIN ${label}`);
      }
      blocks.push(decodeBlock(label, body, headers, beginLine));
      label = undefined;
      return;
    }
    if (BEGIN.test(line)) throw new PemError(`line ${index + 1}: BEGIN inside ${label}`);
    const header = line.match(/^([A-Za-z-]+):\s*(.*)$/);
    if (header && body.length === 0) headers[header[1].toLowerCase()] = header[2];
    else if (line !== "") body.push(line);
  });
  if (label !== undefined) throw new PemError(`line ${beginLine}: BEGIN ${label} is never ended`);
  return blocks;
}

function decodeBlock(
  label: string,
  body: string[],
  headers: Record<string, string>,
  beginLine: number,
): PemBlock {
  const base64 = body.join("");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new PemError(`line ${beginLine}: ${label} is not valid base64`);
  }
  if (base64.length === 0) throw new PemError(`line ${beginLine}: ${label} is empty`);
  const der = new Uint8Array(Buffer.from(base64, "base64"));
  return { label, der, text: formatPem(label, der), headers };
}

/** One block with 64-character lines (RFC 7468 §2). */
export function formatPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
