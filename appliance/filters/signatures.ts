/**
 * Executable signatures (docs/patches.md seed 002, control/signatures): the
 * first body line of every base64 MIME part is compared with base64
 * prefixes of executables (`TVqQAAMAA` is a Windows PE's `MZ` header); a
 * match refuses the message at the end of DATA.
 *
 * The message streams through a small state machine, one line at a time,
 * never held whole: per line it keeps at most LINE_BYTES bytes, per header
 * field HEADER_BYTES, and at most MAX_DEPTH open multipart boundaries. So a
 * message of any size costs the same small memory. Pure: no I/O.
 */
import type { SignatureControls } from "../../config/signatures.ts";
import { type ContentScan, PASS, refuse, type Verdict } from "./filter.ts";

/**
 * The seed names the control file and EXECUTABLEOK but gives no reply text;
 * this is the wording of the qmail-smtpd signatures patch the toaster ships.
 */
export const REPLY_EXECUTABLE = "552 we don't accept email with executable content (#5.3.4)";

/** Bytes of a line kept: RFC 5322 §2.1.1's 998 and its CRLF. Longer lines are cut. */
const LINE_BYTES = 1000;
/** Bytes of an unfolded header field kept (Content-Type with its boundary fits easily). */
const HEADER_BYTES = 4096;
/** Nested multiparts followed; deeper ones are read as plain body. */
const MAX_DEPTH = 32;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

/** Which signature matched, and where. */
export interface SignatureHit {
  prefix: string;
  /** Its line in control/signatures. */
  line: number;
}

/**
 * headers: a header block (the message's, a part's, an embedded message's);
 * first: the lines after a base64 part's headers, until its first non-empty one;
 * body: anything else, read only for boundary lines.
 */
type Mode = "headers" | "first" | "body";

export class SignatureScanner {
  readonly #signatures: { bytes: Uint8Array; hit: SignatureHit }[];
  #line = new Uint8Array(LINE_BYTES);
  #lineLength = 0;
  #mode: Mode = "headers";
  /** Open multipart boundaries, the innermost last, each as its `--boundary` bytes. */
  #boundaries: Uint8Array[] = [];
  /** The header field being unfolded, one char per byte. */
  #field = "";
  #contentType = "";
  #boundary: string | undefined;
  #encoding = "";
  #hit: SignatureHit | undefined;

  constructor(controls: SignatureControls) {
    this.#signatures = controls.signatures.map(({ prefix, line }) => ({
      bytes: new TextEncoder().encode(prefix),
      hit: { prefix, line },
    }));
  }

  /** The first signature seen, once one was. */
  get hit(): SignatureHit | undefined {
    return this.#hit;
  }

  /** Message bytes in order; lines may end in LF or CRLF and be split anywhere. */
  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length && this.#hit === undefined) {
      const end = chunk.indexOf(LF, start);
      const stop = end < 0 ? chunk.length : end;
      const room = LINE_BYTES - this.#lineLength;
      if (room > 0) {
        const piece = chunk.subarray(start, Math.min(stop, start + room));
        this.#line.set(piece, this.#lineLength);
        this.#lineLength += piece.length;
      }
      if (end < 0) return;
      this.#endLine();
      start = end + 1;
    }
  }

  /** The end of the message: a last line without its line end still counts. */
  end(): void {
    if (this.#lineLength > 0) this.#endLine();
  }

  #endLine(): void {
    let length = this.#lineLength;
    this.#lineLength = 0;
    if (length > 0 && this.#line[length - 1] === CR) length--;
    this.#takeLine(this.#line.subarray(0, length));
  }

  #takeLine(line: Uint8Array): void {
    if (this.#boundaries.length > 0 && line[0] === DASH && line[1] === DASH) {
      if (this.#takeBoundary(line)) return;
    }
    if (this.#mode === "headers") this.#takeHeaderLine(line);
    else if (this.#mode === "first" && line.length > 0) {
      this.#hit = this.#signatures.find(({ bytes }) => startsWith(line, bytes))?.hit;
      this.#mode = "body";
    }
  }

  /**
   * `--boundary` opens the next part of that multipart (closing any inner
   * ones left open), `--boundary--` closes it; white space may follow
   * (RFC 2046 §5.1.1). Returns whether the line was a boundary.
   */
  #takeBoundary(line: Uint8Array): boolean {
    for (let depth = this.#boundaries.length - 1; depth >= 0; depth--) {
      const boundary = this.#boundaries[depth];
      if (!startsWith(line, boundary)) continue;
      let rest = line.subarray(boundary.length);
      const closing = rest[0] === DASH && rest[1] === DASH;
      if (closing) rest = rest.subarray(2);
      if (!rest.every((byte) => byte === 0x20 || byte === 0x09)) continue;
      this.#boundaries.length = closing ? depth : depth + 1;
      this.#startHeaders(closing ? "body" : "headers");
      return true;
    }
    return false;
  }

  #takeHeaderLine(line: Uint8Array): void {
    if (line.length === 0) {
      this.#endField();
      this.#endHeaders();
    } else if (line[0] === 0x20 || line[0] === 0x09) {
      if (this.#field.length < HEADER_BYTES) this.#field += latin1(line);
    } else {
      this.#endField();
      this.#field = latin1(line);
    }
  }

  /** Notes Content-Type (media type, boundary) and Content-Transfer-Encoding. */
  #endField(): void {
    const field = this.#field.slice(0, HEADER_BYTES);
    this.#field = "";
    const colon = field.indexOf(":");
    if (colon < 0) return;
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field.slice(colon + 1);
    if (name === "content-type") {
      this.#contentType = value.split(";", 1)[0].trim().toLowerCase();
      const boundary = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(value);
      this.#boundary = boundary === null ? undefined : boundary[1] ?? boundary[2];
    } else if (name === "content-transfer-encoding") {
      this.#encoding = value.trim().toLowerCase();
    }
  }

  /** The blank line after a header block: what follows is decided by the headers. */
  #endHeaders(): void {
    const type = this.#contentType;
    if (
      type.startsWith("multipart/") && this.#boundary !== undefined && this.#boundary !== "" &&
      this.#boundaries.length < MAX_DEPTH
    ) {
      this.#boundaries.push(new TextEncoder().encode(`--${this.#boundary}`));
      this.#startHeaders("body");
    } else if (type === "message/rfc822") {
      // An attached message: its own header block follows.
      this.#startHeaders("headers");
    } else {
      this.#startHeaders(this.#encoding === "base64" ? "first" : "body");
    }
  }

  #startHeaders(mode: Mode): void {
    this.#mode = mode;
    this.#field = "";
    this.#contentType = "";
    this.#boundary = undefined;
    this.#encoding = "";
  }
}

/** The ContentScan of control/signatures for one message. */
export function signatureScan(controls: SignatureControls): ContentScan {
  const scanner = new SignatureScanner(controls);
  return {
    write(chunk: Uint8Array): Promise<void> {
      scanner.push(chunk);
      return Promise.resolve();
    },
    finish(): Promise<Verdict> {
      scanner.end();
      return Promise.resolve(signatureVerdict(scanner.hit));
    },
    abort(): Promise<void> {
      return Promise.resolve();
    },
  };
}

export function signatureVerdict(hit: SignatureHit | undefined): Verdict {
  if (hit === undefined) return PASS;
  return refuse(REPLY_EXECUTABLE, {
    check: "signatures",
    source: "control/signatures",
    line: hit.line,
    entry: hit.prefix,
  });
}

function startsWith(line: Uint8Array, prefix: Uint8Array): boolean {
  if (line.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (line[i] !== prefix[i]) return false;
  return true;
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}
