/**
 * qmail-inject's header processing (qmail-inject(8); notqmail qmail-inject.c,
 * headerbody.c, hfield.c, newfield.c), as a pure function: the header block
 * goes in with the environment, the control values, the time and the process
 * id; the completed header, the envelope sender and the recipients come out.
 *
 * What it does, as qmail-inject does:
 * - the header ends at the first empty line or the first line that is not a
 *   header field (then an empty line is inserted before it); a "From "
 *   line in the header becomes an `MBOX-Line:` field;
 * - sender, recipient and reply fields are re-tokenised and each address is
 *   rewritten: a source route is dropped, an address without @ gets
 *   @defaulthost, a host ending in "+" gets plusdomain in place of the "+", a
 *   host without a dot gets .defaultdomain; the field is re-folded at 80
 *   columns;
 * - Bcc, Resent-Bcc, Return-Path and Content-Length are removed;
 * - Date, Message-ID (`<YYYYMMDDHHMMSS.PID.qmail@idhost>`) and From (from
 *   QMAILUSER/MAILUSER/USER/LOGNAME, QMAILHOST/MAILHOST and
 *   QMAILNAME/MAILNAME/NAME) are added when missing, and
 *   `Cc: recipient list not shown: ;` when there is neither To nor Cc; with
 *   any Resent- field present the Resent- forms are added instead;
 * - the envelope sender is -f, else the first Return-Path field, else
 *   QMAILSUSER@QMAILSHOST (defaulting to the From user and host), rewritten
 *   the same way; QMAILINJECT flags c, s, f, i, r, m work as documented;
 * - with $QMAILMFTFILE naming a list in To/Cc, Mail-Followup-To is added.
 *
 * Departure: a host without a dot gets .defaultdomain only when defaultdomain
 * itself has a dot, so a home whose name is plain "localhost" does not turn
 * joe@localhost into joe@localhost.localhost.
 *
 * Strings inside hold one char per byte (0–255); values from the
 * environment and the command line are taken as UTF-8.
 */
import { needsQuoting, quoteAddress } from "../quote_address.ts";
import { MailError } from "../mail_error.ts";
import { bytesToString } from "../bytes.ts";
import { formatDate822 } from "../date822.ts";
import {
  formatTokens,
  parseTokens,
  rewriteAddressList,
  type Token,
  TokenType,
  unquoteTokens,
} from "./token822.ts";

/** The most header bytes read into memory; a longer header is refused. */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** qmail-inject's permanent failures (exit 100). */
export class InjectError extends MailError {
  constructor(message: string) {
    super(message, { temporary: false });
    this.name = "InjectError";
  }
}

/** The control files qmail-inject reads, each already defaulted (see resolveInjectControls). */
export interface InjectControls {
  defaultdomain: string;
  defaulthost: string;
  plusdomain: string;
  idhost: string;
}

/**
 * The values in force: $QMAILDEFAULTDOMAIN, $QMAILDEFAULTHOST,
 * $QMAILPLUSDOMAIN and $QMAILIDHOST override the files; an absent file
 * defaults to control/me, else to its own name (control_rldef).
 */
export function resolveInjectControls(
  files: Partial<InjectControls> & { me?: string },
  env: Readonly<Record<string, string | undefined>>,
): InjectControls {
  const pick = (name: keyof InjectControls, variable: string) =>
    env[variable] ?? files[name] ?? files.me ?? name;
  return {
    defaultdomain: pick("defaultdomain", "QMAILDEFAULTDOMAIN"),
    defaulthost: pick("defaulthost", "QMAILDEFAULTHOST"),
    plusdomain: pick("plusdomain", "QMAILPLUSDOMAIN"),
    idhost: pick("idhost", "QMAILIDHOST"),
  };
}

/**
 * Where recipients come from: qmail-inject's -a (arguments only), -h (header
 * only), -H (both). Without a flag: the arguments if there are any, else the
 * header.
 */
export type RecipientStrategy = "args" | "header" | "both";

export interface InjectOptions {
  env: Readonly<Record<string, string | undefined>>;
  controls: InjectControls;
  now: Date;
  /** The process id that goes into Message-ID (and QMAILINJECT=m return paths). */
  pid: number | string;
  /** -f: the envelope sender. */
  sender?: string;
  /** Recipients given as arguments. */
  recipients?: readonly string[];
  strategy: RecipientStrategy;
  /** -n: the message is printed, not queued; a Return-Path field shows the sender. */
  printing?: boolean;
  /** The lines of $QMAILMFTFILE: mailing lists that get a Mail-Followup-To field. */
  followupLists?: readonly string[];
}

export interface CompletedHeader {
  /** The new header block; the message continues with the bytes from headerEnd. */
  head: Uint8Array;
  sender: Uint8Array;
  recipients: Uint8Array[];
}

/** Field names hfield.c knows (lower case). */
const KNOWN_FIELDS = new Set([
  "sender",
  "from",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "date",
  "message-id",
  "subject",
  "resent-sender",
  "resent-from",
  "resent-reply-to",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "resent-date",
  "resent-message-id",
  "return-receipt-to",
  "errors-to",
  "apparently-to",
  "received",
  "return-path",
  "delivered-to",
  "content-length",
  "content-type",
  "content-transfer-encoding",
  "notice-requested-upon-delivery-to",
  "mail-followup-to",
]);

/** Fields whose addresses are recipients; if they do not parse they are kept as they are. */
const RECIPIENT_FIELDS = new Set(["to", "cc", "bcc", "apparently-to"]);
const RESENT_RECIPIENT_FIELDS = new Set(["resent-to", "resent-cc", "resent-bcc"]);
const SENDER_FIELDS = new Set([
  "sender",
  "from",
  "reply-to",
  "return-receipt-to",
  "errors-to",
  "resent-sender",
  "resent-from",
  "resent-reply-to",
]);
const DROPPED_FIELDS = new Set(["bcc", "resent-bcc", "return-path", "content-length"]);
const RESENT_FIELDS = [
  "resent-sender",
  "resent-from",
  "resent-reply-to",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "resent-date",
  "resent-message-id",
];

/** The known field a header line starts, lower case (hfield_known), or undefined. */
export function knownField(field: string): string | undefined {
  const match = /^([!-9;-~]+)[ \t]*:/.exec(field);
  if (!match) return undefined;
  const name = match[1].toLowerCase();
  return KNOWN_FIELDS.has(name) ? name : undefined;
}

/** Whether a line starts a header field: a name of bytes 33–126, optional blanks, ':' (hfield_valid). */
export function isHeaderField(line: string): boolean {
  const colon = line.indexOf(":");
  if (colon < 0) return false;
  const name = line.slice(0, colon).replace(/[ \t]+$/, "");
  if (name === "") return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code <= 32 || code >= 127) return false;
  }
  return true;
}

/**
 * Where the header block of `bytes` ends (headerbody.c): the offset of the
 * empty line or of the first line that is not a header field, or
 * bytes.length when the input ends inside the header (eof). Undefined when
 * more input is needed to tell.
 */
export function findHeaderEnd(bytes: Uint8Array, eof: boolean): number | undefined {
  let offset = 0;
  let inField = false;
  while (offset < bytes.length) {
    const newline = bytes.indexOf(0x0a, offset);
    const first = bytes[offset];
    const continuation = inField && (first === 0x20 || first === 0x09);
    if (newline < 0 && !eof) {
      // An unfinished line can already be known not to start a field.
      const partial = bytesToString(bytes.subarray(offset));
      return !continuation && isNeverHeaderField(partial) ? offset : undefined;
    }
    const end = newline < 0 ? bytes.length : newline + 1;
    if (continuation) {
      offset = end;
      continue;
    }
    if (first === 0x0a) return offset;
    const line = bytesToString(bytes.subarray(offset, end));
    if (!line.startsWith("From ") && !isHeaderField(line)) return offset;
    inField = true;
    offset = end;
  }
  return eof ? offset : undefined;
}

/** Whether the start of a line rules out a header field whatever follows. */
function isNeverHeaderField(partial: string): boolean {
  if ("From ".startsWith(partial) || partial.startsWith("From ")) return false;
  if (partial.includes(":")) return !isHeaderField(partial);
  // A byte outside 33-126 followed by anything but blanks cannot be in a field name.
  return /[^!-~][ \t]*[^ \t]/.test(partial.replace(/^[!-~]*/, ""));
}

/** The header block's fields, continuation lines joined, each ending in LF. */
function splitFields(header: string): string[] {
  const lines = header.split(/(?<=\n)/);
  if (lines.length > 0 && !lines[lines.length - 1].endsWith("\n")) {
    lines[lines.length - 1] += "\n";
  }
  const fields: string[] = [];
  for (const line of lines) {
    if (line === "") continue;
    if (fields.length > 0 && (line[0] === " " || line[0] === "\t")) {
      fields[fields.length - 1] += line;
    } else {
      fields.push(line.startsWith("From ") ? `MBOX-Line: ${line}` : line);
    }
  }
  return fields;
}

/** UTF-8 text (environment, arguments, control files) as a one-char-per-byte string. */
function byteString(text: string): string {
  return bytesToString(new TextEncoder().encode(text));
}

function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}

/** qmail's quote2 (§4.10), shared with qmail-send and qmail-local. */
export { quoteAddress };

/** `Date: 26 Sep 1995 04:46:53 -0000` plus LF (newfield.c). */
export function formatDateField(now: Date): string {
  return `Date: ${formatDate822(now)}\n`;
}

/** `Message-ID: <19950926044653.12345.qmail@idhost>` plus LF (newfield.c). */
export function formatMessageIdField(now: Date, pid: number | string, idhost: string): string {
  const stamp = `${now.getUTCFullYear()}${twoDigits(now.getUTCMonth() + 1)}` +
    `${twoDigits(now.getUTCDate())}${twoDigits(now.getUTCHours())}` +
    `${twoDigits(now.getUTCMinutes())}${twoDigits(now.getUTCSeconds())}`;
  return `Message-ID: <${stamp}.${pid}.qmail@${idhost}>\n`;
}

/** The address rewriting of qmail-inject (rwgeneric), on an address in reverse token order. */
class AddressRewriter {
  readonly #defaulthost: Token[];
  readonly #defaultdomain: Token[] | undefined;
  readonly #plusdomain: Token[];

  constructor(controls: InjectControls) {
    this.#defaulthost = controlTokens("@", controls.defaulthost, "defaulthost");
    this.#defaultdomain = controls.defaultdomain.includes(".")
      ? controlTokens(".", controls.defaultdomain, "defaultdomain")
      : undefined;
    this.#plusdomain = controlTokens(".", controls.plusdomain, "plusdomain");
  }

  rewrite(address: Token[]): void {
    if (address.length === 0) return; // <>
    if (
      address.length >= 2 && address[1].type === TokenType.At &&
      address[0].type === TokenType.Literal && address[0].text === ""
    ) return; // foo@[]
    // A source route @a,@b:user@host loses everything up to the colon.
    if (address[address.length - 1].type === TokenType.At) {
      while (address.length > 0) {
        if (address.pop()!.type === TokenType.Colon) break;
      }
    }
    if (address.length === 0) return;
    if (address[0].type === TokenType.Dot) address.shift();
    if (address.length === 0) return;
    if (address[0].type === TokenType.At) address.shift();
    if (address.length === 0) return;
    if (!address.some((t) => t.type === TokenType.At)) {
      address.unshift(...[...this.#defaulthost].reverse());
    }
    const last = address[0];
    if (last.type === TokenType.Atom && last.text.endsWith("+")) {
      address[0] = { type: TokenType.Atom, text: last.text.slice(0, -1) };
      address.unshift(...[...this.#plusdomain].reverse());
    }
    if (this.#defaultdomain && !this.#hostHas(address, TokenType.Dot)) {
      if (!this.#hostHas(address, TokenType.Literal)) {
        address.unshift(...[...this.#defaultdomain].reverse());
      }
    }
  }

  /** Whether the host part (the tokens right of the last @) holds a token of this type. */
  #hostHas(address: Token[], type: TokenType): boolean {
    for (const t of address) {
      if (t.type === type) return true;
      if (t.type === TokenType.At) return false;
    }
    return false;
  }
}

function controlTokens(prefix: string, value: string, name: string): Token[] {
  const tokens = parseTokens(prefix + byteString(value));
  if (!tokens) throw new InjectError(`unable to parse control/${name}: ${value}`);
  return tokens;
}

/** An address in reverse token order as a plain string. */
function addressText(reversed: readonly Token[]): string {
  return unquoteTokens([...reversed].reverse());
}

/**
 * Completes the header of `message` (whose header ends at `headerEnd`, see
 * findHeaderEnd) the way qmail-inject does, and works out the envelope.
 * Throws InjectError (permanent) for a field that must parse and does not.
 */
export function completeHeader(
  message: Uint8Array,
  headerEnd: number,
  options: InjectOptions,
): CompletedHeader {
  const env = options.env;
  const flags = env.QMAILINJECT ?? "";
  const nameComment = flags.includes("c");
  const deleteSender = flags.includes("s");
  const deleteFrom = flags.includes("f");
  const deleteMessageId = flags.includes("i");
  const hackRecipient = flags.includes("r");
  const hackMessage = flags.includes("m");

  const rewriter = new AddressRewriter(options.controls);
  const rewrite = (address: Token[]) => rewriter.rewrite(address);

  const mailhostRaw = env.QMAILHOST ?? env.MAILHOST;
  const mailhost = mailhostRaw === undefined ? undefined : byteString(mailhostRaw);
  const mailuser = byteString(
    env.QMAILUSER ?? env.MAILUSER ?? env.USER ?? env.LOGNAME ?? "anonymous",
  );
  const returnHost = env.QMAILSHOST === undefined ? mailhost : byteString(env.QMAILSHOST);
  const returnUser = env.QMAILSUSER === undefined ? mailuser : byteString(env.QMAILSUSER);

  let sender: string | undefined;
  const setReturn = (reversed: Token[]) => {
    if (sender !== undefined) return;
    sender = addressText(reversed) + (hackRecipient ? "-@[]" : "");
  };

  if (options.sender !== undefined) {
    const quoted = quoteAddress(byteString(options.sender));
    const tokens = parseTokens(quoted);
    if (!tokens) throw new InjectError(`unable to parse this line:\n${quoted}`);
    const reversed = tokens.reverse();
    rewriter.rewrite(reversed);
    sender = addressText(reversed);
  }

  const argumentRecipients: string[] = [];
  if (options.strategy !== "header") {
    for (const recipient of options.recipients ?? []) {
      const tokens = parseTokens(quoteAddress(byteString(recipient)));
      if (!tokens) throw new InjectError(`unable to parse address: ${recipient}`);
      const reversed = tokens.reverse();
      rewriter.rewrite(reversed);
      argumentRecipients.push(addressText(reversed));
    }
  }

  const headerRecipients: string[] = [];
  const resentRecipients: string[] = [];
  const toCc: string[] = [];
  const seen = new Set<string>();
  const saved: string[] = [];

  const header = bytesToString(message.subarray(0, headerEnd));
  for (const original of splitFields(header)) {
    let field = original;
    const type = knownField(field);
    if (deleteFrom && type === "from") continue;
    if (deleteMessageId && type === "message-id") continue;
    if (deleteSender && type === "return-path") continue;
    if (type !== undefined) seen.add(type);

    let callback: ((address: Token[]) => void) | undefined;
    let mayFail = false;
    if (type === "to" || type === "cc") {
      callback = (a) => {
        rewrite(a);
        headerRecipients.push(addressText(a));
        toCc.push(addressText(a));
      };
      mayFail = true;
    } else if (type !== undefined && RECIPIENT_FIELDS.has(type)) {
      callback = (a) => {
        rewrite(a);
        headerRecipients.push(addressText(a));
      };
      mayFail = true;
    } else if (type !== undefined && RESENT_RECIPIENT_FIELDS.has(type)) {
      callback = (a) => {
        rewrite(a);
        resentRecipients.push(addressText(a));
      };
      mayFail = true;
    } else if (type === "return-path") {
      callback = (a) => {
        rewrite(a);
        setReturn(a);
      };
    } else if (type !== undefined && SENDER_FIELDS.has(type)) {
      callback = rewrite;
    }

    if (callback) {
      const tokens = parseTokens(field);
      const rewritten = tokens && rewriteAddressList(tokens, callback);
      if (rewritten) {
        field = formatTokens(rewritten);
      } else if (!mayFail) {
        throw new InjectError(`unable to parse this line:\n${field}`);
      }
    }
    if (type !== undefined && DROPPED_FIELDS.has(type)) continue;
    saved.push(field);
  }

  // finishheader()
  const resent = RESENT_FIELDS.some((name) => seen.has(name));
  if (sender === undefined) {
    let user = returnUser;
    if (hackMessage) user += `-${Math.floor(options.now.getTime() / 1000)}.${options.pid}`;
    if (hackRecipient) user += "-";
    const tokens: Token[] = [{ type: TokenType.Atom, text: "Return-Path" }, {
      type: TokenType.Colon,
      text: "",
    }, { type: TokenType.Quote, text: user }];
    if (returnHost !== undefined) {
      tokens.push({ type: TokenType.At, text: "" }, { type: TokenType.Atom, text: returnHost });
    }
    const reparsed = reparse(formatTokens(tokens));
    rewriteAddressList(reparsed, (a) => {
      rewrite(a);
      setReturn(a);
    });
  }
  const out: string[] = [];
  if (options.printing) out.push(`Return-Path: <${quoteAddress(sender ?? "")}>\n`);
  const prefix = resent ? "Resent-" : "";
  if (!seen.has(resent ? "resent-date" : "date")) out.push(prefix + formatDateField(options.now));
  if (!seen.has(resent ? "resent-message-id" : "message-id")) {
    out.push(
      prefix + formatMessageIdField(options.now, options.pid, byteString(options.controls.idhost)),
    );
  }
  if (!seen.has(resent ? "resent-from" : "from")) {
    const fullnameRaw = env.QMAILNAME ?? env.MAILNAME ?? env.NAME;
    const fullname = fullnameRaw === undefined ? undefined : byteString(fullnameRaw);
    out.push(prefix + formatDefaultFrom(mailuser, mailhost, fullname, nameComment, rewrite));
  }
  if (resent) {
    if (!seen.has("resent-to") && !seen.has("resent-cc")) {
      out.push("Resent-Cc: recipient list not shown: ;\n");
    }
  } else {
    if (!seen.has("to") && !seen.has("cc")) out.push("Cc: recipient list not shown: ;\n");
    const followup = formatFollowup(toCc, options.followupLists, seen);
    if (followup) out.push(followup);
  }
  out.push(...saved);

  const inserted = headerEnd < message.length && message[headerEnd] !== 0x0a ? "\n" : "";
  const recipients = [
    ...argumentRecipients,
    ...(options.strategy === "args" ? [] : resent ? resentRecipients : headerRecipients),
  ];
  return {
    head: latin1(out.join("") + inserted),
    sender: latin1(sender ?? ""),
    recipients: recipients.map(latin1),
  };
}

function reparse(field: string): Token[] {
  const tokens = parseTokens(field);
  if (!tokens) throw new InjectError(`unable to parse this line:\n${field}`);
  return tokens;
}

/** The From field qmail-inject makes (defaultfrommake): "Name" <user@host>, or user@host (Name). */
function formatDefaultFrom(
  user: string,
  host: string | undefined,
  fullname: string | undefined,
  nameComment: boolean,
  rewrite: (address: Token[]) => void,
): string {
  const tokens: Token[] = [
    { type: TokenType.Atom, text: "From" },
    { type: TokenType.Colon, text: "" },
  ];
  const angle = fullname !== undefined && !nameComment;
  if (angle) {
    tokens.push({ type: TokenType.Quote, text: fullname }, { type: TokenType.Left, text: "" });
  }
  tokens.push({ type: needsQuoting(user) ? TokenType.Quote : TokenType.Atom, text: user });
  if (host !== undefined) {
    tokens.push({ type: TokenType.At, text: "" }, { type: TokenType.Atom, text: host });
  }
  if (angle) tokens.push({ type: TokenType.Right, text: "" });
  if (fullname !== undefined && nameComment) {
    tokens.push({ type: TokenType.Comment, text: fullname });
  }
  const reparsed = reparse(formatTokens(tokens));
  const rewritten = rewriteAddressList(reparsed, rewrite);
  if (!rewritten) throw new InjectError(`unable to parse this line:\n${formatTokens(tokens)}`);
  return formatTokens(rewritten);
}

/** Mail-Followup-To for mail to a list named in $QMAILMFTFILE (finishmft). */
function formatFollowup(
  toCc: readonly string[],
  lists: readonly string[] | undefined,
  seen: ReadonlySet<string>,
): string | undefined {
  if (!lists || seen.has("mail-followup-to")) return undefined;
  const known = new Set(lists.map(byteString));
  if (!toCc.some((address) => known.has(address))) return undefined;
  return `Mail-Followup-To: ${[...toCc].reverse().map(quoteAddress).join(",\n  ")}\n`;
}
