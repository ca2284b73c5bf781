/**
 * tcpserver's per-client rules (tcprules(1), docs/queue-format.md §10): the text
 * format an operator writes in HOME/tcp.smtp, the cdb that tcprules compiles
 * it into, and tcpserver's lookup of a connection in that cdb.
 *
 * The parser follows ucspi-tcp 0.88's tcprules.c byte for byte (§10.1):
 * a line starting with `#` is a comment, an empty line or a line without a
 * colon is skipped, trailing spaces and tabs are removed (a carriage return
 * is not: a CRLF file fails as it does with tcprules), the first colon ends
 * the address, then `allow` or `deny`, then any number of `,VAR=QvalueQ` where
 * Q is any single character. Anything else is an error naming file and line.
 * Because the first colon ends the address, IPv6 addresses cannot be written
 * as keys (0.88 has no IPv6; its IPv6 patches change the parser). They are
 * looked up as an exact key only, so a cdb made by a patched tcprules still
 * answers for its exact IPv6 keys.
 *
 * The cdb is the one tcprules writes: key = the address (a range `a-b` in one
 * dotted component expanded into one key per number, upper bound capped at
 * 255), data = `D\0` for deny, then `+VAR=value\0` per variable in the order
 * written. With duplicate keys the first line wins (cdb finds the
 * first-inserted record first, §10.3).
 *
 * Text passed to parseTcpRules may be a byte string (one char per byte, codes
 * 0–255), as loadTcpRules and `qmd tcprules` use, with `{ binary: true }` for
 * compileTcpRules: then any bytes survive exactly as tcprules copies them.
 * Plain text is encoded as UTF-8, which is the same for ASCII.
 *
 * This module is a leaf (config/): parse, compile, format and lookup are pure;
 * loadTcpRules is the only I/O.
 */
import { ControlError } from "./control.ts";
import { buildCdb, CdbFormatError, CdbReader, type CdbRecord, readCdbRecords } from "./cdb.ts";
import { byteString } from "./byte_string.ts";

/** One rule line of the text format. */
export interface TcpRule {
  /** The address as written, before any range expansion. */
  address: string;
  deny: boolean;
  /** Variables in the order written; a later one with the same name wins. */
  env: [string, string][];
  /** 1-based line number in the file. */
  line: number;
}

/** What tcpserver does with a connection: the first matching key's rule. */
export interface TcpRuleMatch {
  deny: boolean;
  /** Variables to set in the child's environment (over the inherited ones). */
  env: Record<string, string>;
  /** The key that matched ("" is the default rule). */
  key: string;
}

const UTF8 = new TextEncoder();

/** Facts about a connection, as tcpserver knows them. */
export interface TcpRuleFacts {
  /** TCPREMOTEIP, dotted decimal; an IPv4-mapped IPv6 address counts as its IPv4 address. */
  ip: string;
  /** TCPREMOTEHOST (reverse DNS), when known. */
  host?: string;
  /** TCPREMOTEINFO (IDENT), when known. */
  info?: string;
}

export interface TcpRulesTable {
  /** The first rule that applies (§10.2), or undefined when none does (then allow). */
  lookup(facts: TcpRuleFacts): TcpRuleMatch | undefined;
  /** Some key names a host (`=...` or `info@=...`), so a reverse DNS lookup matters. */
  readonly needsHost: boolean;
  /** Every value some rule sets the variable NAME to, in file order, each once. */
  valuesOf(name: string): string[];
}

export interface CompileOptions {
  /** The rules' strings are byte strings (one char per byte) rather than text to encode as UTF-8. */
  binary?: boolean;
}

/** Parses tcprules' text format. Throws ControlError(file, line, reason) on a bad rule. */
export function parseTcpRules(text: string, file: string): TcpRule[] {
  const rules: TcpRule[] = [];
  const lines = text.split("\n");
  // getln: a final line without "\n" still counts; the empty piece after a final "\n" does not.
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, index) => {
    const result = parseTcpRuleLine(raw);
    if (result === undefined) return;
    if (typeof result === "string") throw new ControlError(file, index + 1, result);
    rules.push({ ...result, line: index + 1 });
  });
  return rules;
}

/** One line: a rule, undefined for a skipped line, or the reason it cannot be parsed. */
function parseTcpRuleLine(raw: string): Omit<TcpRule, "line"> | string | undefined {
  if (raw.startsWith("#") || raw === "") return undefined;
  const line = raw.replace(/[ \t]+$/, "");
  const colon = line.indexOf(":");
  if (colon < 0) return undefined;
  const address = line.slice(0, colon);
  let rest = line.slice(colon + 1);
  let deny: boolean;
  if (rest.startsWith("deny")) {
    deny = true;
    rest = rest.slice(4);
  } else if (rest.startsWith("allow")) {
    deny = false;
    rest = rest.slice(5);
  } else {
    return "expected allow or deny after the first colon";
  }
  const env: [string, string][] = [];
  while (rest !== "") {
    if (!rest.startsWith(",")) {
      return rest.startsWith("\r")
        ? "unexpected carriage return (tcprules wants Unix line endings)"
        : 'expected ,VAR="value" after allow or deny';
    }
    const equals = rest.indexOf("=");
    if (equals < 0) return "variable without =";
    const name = rest.slice(1, equals);
    rest = rest.slice(equals + 1);
    if (rest === "") return `no quoted value for ${name}`;
    const quote = rest[0];
    rest = rest.slice(1);
    const end = rest.indexOf(quote);
    if (end < 0) return `value of ${name} has no closing ${quote}`;
    env.push([name, rest.slice(0, end)]);
    rest = rest.slice(end + 1);
  }
  const keys = expandAddress(address);
  if (typeof keys === "string") return keys;
  return { address, deny, env };
}

/**
 * The keys an address stands for. tcprules.c's doaddressdata: only when the
 * address has no `=` and no `@`, the first `-` marks a range in its dotted
 * component; both bounds must be digits only (empty means 0), the upper bound
 * is capped at 255, and a lower bound above the upper one gives no key at all.
 * Numbers are written back in decimal without leading zeros.
 */
function expandAddress(address: string): string[] | string {
  if (address.includes("=") || address.includes("@")) return [address];
  const dash = address.indexOf("-");
  if (dash < 0) return [address];
  const left = address.lastIndexOf(".", dash - 1) + 1;
  const dot = address.indexOf(".", dash + 1);
  const right = dot < 0 ? address.length : dot;
  const bottom = scanNumber(address.slice(left, dash));
  let top = scanNumber(address.slice(dash + 1, right));
  if (bottom === undefined || top === undefined) return "range bounds must be numbers";
  if (top > 255n) top = 255n;
  const keys: string[] = [];
  for (let n = bottom; n <= top; n++) {
    keys.push(`${address.slice(0, left)}${n}${address.slice(right)}`);
  }
  return keys;
}

/** scan_ulong over the whole string: digits only, wrapping modulo 2^64 like an unsigned long. */
function scanNumber(digits: string): bigint | undefined {
  if (!/^[0-9]*$/.test(digits)) return undefined;
  return digits === "" ? 0n : BigInt.asUintN(64, BigInt(digits));
}

function encoder(options: CompileOptions): (text: string) => Uint8Array {
  if (!options.binary) return (text) => UTF8.encode(text);
  return (text) => {
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 255) throw new RangeError("binary rule text holds a character above 255");
      bytes[i] = code;
    }
    return bytes;
  };
}

/** The data tcprules writes for a rule: `D\0` for deny, then `+VAR=value\0` each. */
function ruleData(rule: Omit<TcpRule, "line">): string {
  let data = rule.deny ? "D\0" : "";
  for (const [name, value] of rule.env) data += `+${name}=${value}\0`;
  return data;
}

/** The cdb records tcprules writes for these rules, ranges expanded, in order. */
function tcpRuleRecords(rules: readonly TcpRule[], options: CompileOptions = {}): CdbRecord[] {
  const encode = encoder(options);
  const records: CdbRecord[] = [];
  for (const rule of rules) {
    const keys = expandAddress(rule.address);
    if (typeof keys === "string") throw new RangeError(`${rule.address}: ${keys}`);
    const data = encode(ruleData(rule));
    for (const key of keys) records.push({ key: encode(key), data });
  }
  return records;
}

/** The cdb file tcprules writes for these rules (§10.1, §10.3), byte for byte. */
export function compileTcpRules(
  rules: readonly TcpRule[],
  options: CompileOptions = {},
): Uint8Array {
  return buildCdb(tcpRuleRecords(rules, options));
}

/** Whether a key names a host: `=...` or `info@=...`. */
function isHostKey(key: Uint8Array): boolean {
  if (key[0] === 0x3d) return true;
  for (let i = 0; i + 1 < key.length; i++) if (key[i] === 0x40 && key[i + 1] === 0x3d) return true;
  return false;
}

/**
 * Applies a record's data as tcpserver's found() does: NUL-terminated entries;
 * one starting with `D` denies, `+VAR=value` sets VAR (split at the first `=`;
 * a later one wins); anything else, and a last entry without its NUL, is ignored.
 */
function applyRuleData(data: Uint8Array, key: string): TcpRuleMatch {
  const decoder = new TextDecoder();
  const match: TcpRuleMatch = { deny: false, env: {}, key };
  let start = 0;
  while (true) {
    const end = data.indexOf(0, start);
    if (end < 0) break;
    const entry = data.subarray(start, end);
    if (entry[0] === 0x44) {
      match.deny = true;
    } else if (entry[0] === 0x2b) {
      const equals = entry.indexOf(0x3d, 1);
      if (equals >= 0) {
        match.env[decoder.decode(entry.subarray(1, equals))] = decoder.decode(
          entry.subarray(equals + 1),
        );
      }
    }
    start = end + 1;
  }
  return match;
}

/** An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as its IPv4 address; others unchanged. */
function normalizeIp(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.exec(ip);
  return mapped ? mapped[1] : ip;
}

/**
 * The keys tcpserver tries, in order (rules.c; §10.2). The host name is taken
 * in lower case without a trailing dot, as tcpserver's DNS library returns it;
 * an empty host or info counts as unknown.
 */
export function tcpRuleKeys(facts: TcpRuleFacts): string[] {
  const ip = normalizeIp(facts.ip);
  const host = facts.host === undefined || facts.host === "" || facts.host === "."
    ? undefined
    : facts.host.toLowerCase().replace(/\.$/, "");
  const info = facts.info === "" ? undefined : facts.info;
  const keys: string[] = [];
  if (info !== undefined) {
    keys.push(`${info}@${ip}`);
    if (host !== undefined) keys.push(`${info}@=${host}`);
  }
  keys.push(ip);
  if (host !== undefined) keys.push(`=${host}`);
  for (let length = ip.length; length > 0; length--) {
    if (ip[length - 1] === ".") keys.push(ip.slice(0, length));
  }
  if (host !== undefined) {
    for (let i = 0; i < host.length; i++) if (host[i] === ".") keys.push(`=${host.slice(i)}`);
    keys.push("=");
  }
  keys.push("");
  return keys;
}

/**
 * A table over a tcprules cdb. Given the file's bytes, needsHost is exact and
 * every record is checked once; given only a CdbReader (whose keys cannot be
 * listed), needsHost is true, so the caller looks the host name up rather
 * than miss a `=host` rule.
 */
export function tcpRulesFromCdb(source: CdbReader | Uint8Array): TcpRulesTable {
  let reader: CdbReader;
  let needsHost = true;
  if (source instanceof Uint8Array) {
    needsHost = readCdbRecords(source).some((record) => isHostKey(record.key));
    reader = new CdbReader(source);
  } else {
    reader = source;
  }
  return {
    needsHost,
    valuesOf(name: string): string[] {
      const values = new Set<string>();
      for (const record of reader.records()) {
        const value = applyRuleData(record.data, "").env[name];
        if (value !== undefined) values.add(value);
      }
      return [...values];
    },
    lookup(facts: TcpRuleFacts): TcpRuleMatch | undefined {
      for (const key of tcpRuleKeys(facts)) {
        const data = reader.get(UTF8.encode(key));
        if (data !== undefined) return applyRuleData(data, key);
      }
      return undefined;
    },
  };
}

/** A table over parsed rules: compiled to the same cdb in memory, so it answers exactly alike. */
export function tcpRulesFromText(
  rules: readonly TcpRule[],
  options: CompileOptions = {},
): TcpRulesTable {
  return tcpRulesFromCdb(compileTcpRules(rules, options));
}

/** Quote characters tried in turn when writing a value back as text. */
const QUOTES = "\"'/|%!^~#@+*";

function chooseQuote(value: string): string | undefined {
  for (const quote of QUOTES) if (!value.includes(quote)) return quote;
  for (let code = 0x21; code < 0x7f; code++) {
    const quote = String.fromCharCode(code);
    if (!value.includes(quote)) return quote;
  }
  return undefined;
}

/** A record as one rule line (byte string), or undefined when the text format cannot say it. */
function formatRecord(key: string, data: string): string | undefined {
  const parts = data.split("\0");
  if (parts.pop() !== "") return undefined;
  let line = `${key}:`;
  let index = 0;
  if (parts[0] === "D") {
    line += "deny";
    index = 1;
  } else {
    line += "allow";
  }
  for (; index < parts.length; index++) {
    const entry = parts[index];
    const equals = entry.indexOf("=");
    if (!entry.startsWith("+") || equals < 0) return undefined;
    const value = entry.slice(equals + 1);
    const quote = chooseQuote(value);
    if (quote === undefined) return undefined;
    line += `,${entry.slice(1, equals)}=${quote}${value}${quote}`;
  }
  // Keep only what reads back as the very same record: a "\n" anywhere, a ":" in the key,
  // a "#" first or a "-" that would read as a range cannot be written.
  if (line.includes("\n")) return undefined;
  const parsed = parseTcpRuleLine(line);
  if (parsed === undefined || typeof parsed === "string") return undefined;
  const keys = expandAddress(parsed.address);
  if (typeof keys === "string" || keys.length !== 1 || keys[0] !== key) return undefined;
  return ruleData(parsed) === data ? line : undefined;
}

/**
 * A tcprules cdb written back as rules text (byte string, one line per record
 * in file order), so a cdb made by the real tcprules can be read and
 * recompiled to the same bytes. A record the text format cannot express
 * becomes a `#` comment and is counted in `unexpressible`.
 */
export function formatTcpRules(cdb: Uint8Array): { text: string; unexpressible: number } {
  let text = "";
  let unexpressible = 0;
  for (const record of readCdbRecords(cdb)) {
    const key = byteString(record.key);
    const data = byteString(record.data);
    const line = formatRecord(key, data);
    if (line === undefined) {
      unexpressible++;
      text += `# not expressible as a rule: key ${JSON.stringify(key)} data ${
        JSON.stringify(data)
      }\n`;
    } else {
      text += `${line}\n`;
    }
  }
  return { text, unexpressible };
}

function readOptionalFile(path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof Deno.errors.IsADirectory) {
      throw new ControlError(path, 0, "is a directory, expected a file");
    }
    throw new ControlError(path, 0, `cannot read: ${(error as Error).message}`);
  }
}

function tableFromCdbFile(path: string, bytes: Uint8Array): TcpRulesTable {
  try {
    return tcpRulesFromCdb(bytes);
  } catch (error) {
    if (error instanceof CdbFormatError) throw new ControlError(path, 0, error.message);
    throw error;
  }
}

/**
 * The rules for a listener: PATH as text (e.g. HOME/tcp.smtp) when it exists,
 * so an edit counts without running tcprules; else PATH.cdb as tcprules wrote
 * it; else undefined (no rules: every client allowed). A PATH ending in
 * `.cdb` is read as a cdb. A bad line throws ControlError naming file and line.
 */
export function loadTcpRules(path: string): TcpRulesTable | undefined {
  if (path.endsWith(".cdb")) {
    const bytes = readOptionalFile(path);
    return bytes === undefined ? undefined : tableFromCdbFile(path, bytes);
  }
  const text = readOptionalFile(path);
  if (text !== undefined) {
    return tcpRulesFromText(parseTcpRules(byteString(text), path), { binary: true });
  }
  const cdb = readOptionalFile(`${path}.cdb`);
  return cdb === undefined ? undefined : tableFromCdbFile(`${path}.cdb`, cdb);
}
