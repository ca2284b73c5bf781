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
 *
 * This file walks the fields and works out the envelope; header_fields.ts
 * finds the header's end and knows the fields, address_rewriter.ts rewrites
 * each address, new_fields.ts makes the fields that are added and
 * inject_controls.ts resolves the control values.
 */
import { needsQuoting, quoteAddress } from "../quote_address.ts";
import { MailError } from "../mail_error.ts";
import { bytesToString, utf8ByteString } from "../bytes.ts";
import { AddressRewriter } from "./address_rewriter.ts";
import {
  DROPPED_FIELDS,
  knownField,
  RECIPIENT_FIELDS,
  RESENT_FIELDS,
  RESENT_RECIPIENT_FIELDS,
  SENDER_FIELDS,
  splitFields,
} from "./header_fields.ts";
import type { InjectControls } from "./inject_controls.ts";
import { formatDateField, formatFollowup, formatMessageIdField } from "./new_fields.ts";
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

function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** qmail's quote2 (§4.10), shared with qmail-send and qmail-local. */
export { quoteAddress };

/**
 * The rewriter for these controls. Departure: a host without a dot gets
 * .defaultdomain only when defaultdomain itself has a dot (see above).
 */
function addressRewriter(controls: InjectControls): AddressRewriter {
  return new AddressRewriter({
    defaulthost: controlTokens("@", controls.defaulthost, "defaulthost"),
    defaultdomain: controls.defaultdomain.includes(".")
      ? controlTokens(".", controls.defaultdomain, "defaultdomain")
      : undefined,
    plusdomain: controlTokens(".", controls.plusdomain, "plusdomain"),
  });
}

function controlTokens(prefix: string, value: string, name: string): Token[] {
  const tokens = parseTokens(prefix + utf8ByteString(value));
  if (!tokens) throw new InjectError(`unable to parse control/${name}: ${value}`);
  return tokens;
}

/** An address in reverse token order as a plain string. */
function addressText(reversed: readonly Token[]): string {
  return unquoteTokens([...reversed].reverse());
}

/**
 * Completes the header of `message` (whose header ends at `headerEnd`, see
 * findHeaderEnd in header_fields.ts) the way qmail-inject does, and works out the envelope.
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

  const rewriter = addressRewriter(options.controls);
  const rewrite = (address: Token[]) => rewriter.rewrite(address);

  const mailhostRaw = env.QMAILHOST ?? env.MAILHOST;
  const mailhost = mailhostRaw === undefined ? undefined : utf8ByteString(mailhostRaw);
  const mailuser = utf8ByteString(
    env.QMAILUSER ?? env.MAILUSER ?? env.USER ?? env.LOGNAME ?? "anonymous",
  );
  const returnHost = env.QMAILSHOST === undefined ? mailhost : utf8ByteString(env.QMAILSHOST);
  const returnUser = env.QMAILSUSER === undefined ? mailuser : utf8ByteString(env.QMAILSUSER);

  let sender: string | undefined;
  const setReturn = (reversed: Token[]) => {
    if (sender !== undefined) return;
    sender = addressText(reversed) + (hackRecipient ? "-@[]" : "");
  };

  if (options.sender !== undefined) {
    const quoted = quoteAddress(utf8ByteString(options.sender));
    const tokens = parseTokens(quoted);
    if (!tokens) throw new InjectError(`unable to parse this line:\n${quoted}`);
    const reversed = tokens.reverse();
    rewriter.rewrite(reversed);
    sender = addressText(reversed);
  }

  const argumentRecipients: string[] = [];
  if (options.strategy !== "header") {
    for (const recipient of options.recipients ?? []) {
      const tokens = parseTokens(quoteAddress(utf8ByteString(recipient)));
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
      prefix +
        formatMessageIdField(options.now, options.pid, utf8ByteString(options.controls.idhost)),
    );
  }
  if (!seen.has(resent ? "resent-from" : "from")) {
    const fullnameRaw = env.QMAILNAME ?? env.MAILNAME ?? env.NAME;
    const fullname = fullnameRaw === undefined ? undefined : utf8ByteString(fullnameRaw);
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
