/**
 * RFC 822 header tokens the way qmail's token822.c cuts, rebuilds and folds
 * them, so header fields qmail-inject rewrites come out byte for byte as
 * qmail's would. Strings hold one char per byte (codes 0–255).
 *
 * Pure: no I/O.
 */

export const TokenType = {
  Atom: 1,
  Quote: 2,
  Literal: 3,
  Comment: 4,
  Comma: 5,
  At: 6,
  Dot: 7,
  Left: 8,
  Right: 9,
  Semi: 10,
  Colon: 11,
} as const;
export type TokenType = typeof TokenType[keyof typeof TokenType];

export interface Token {
  type: TokenType;
  /** Text of atoms, quoted strings, literals and comments (unescaped, no delimiters). */
  text: string;
}

/** Line length token822_unparse folds address lists at (qmail-inject's LINELEN). */
export const LINE_LENGTH = 80;

function token(type: TokenType, text = ""): Token {
  return { type, text };
}

function atomOk(ch: string): boolean {
  return !` \t\r\n(["<>;:@,.`.includes(ch);
}

/** An atom holding bytes that cannot stand bare becomes a quoted string (atomcheck). */
function atomType(text: string): TokenType {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 || code > 126 || text[i] === ")" || text[i] === "]" || text[i] === "\\") {
      return TokenType.Quote;
    }
  }
  return TokenType.Atom;
}

/**
 * Cuts text into tokens (token822_parse). Returns undefined where qmail
 * fails to parse: an unbalanced ')' or ']' or an unterminated comment,
 * quoted string or domain literal.
 */
export function parseTokens(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  const length = text.length;
  let i = 0;
  const delimited = (type: TokenType, close: string, nests: string | undefined) => {
    let level = 1;
    let value = "";
    while (level > 0) {
      if (++i >= length) return false;
      const ch = text[i];
      if (ch === close) {
        level--;
      } else if (nests !== undefined && ch === nests) {
        level++;
      } else {
        if (ch === "\\" && ++i >= length) return false;
        value += text[i];
      }
    }
    tokens.push(token(type, value));
    return true;
  };
  for (; i < length; i++) {
    const ch = text[i];
    switch (ch) {
      case ".":
        tokens.push(token(TokenType.Dot));
        break;
      case ",":
        tokens.push(token(TokenType.Comma));
        break;
      case "@":
        tokens.push(token(TokenType.At));
        break;
      case "<":
        tokens.push(token(TokenType.Left));
        break;
      case ">":
        tokens.push(token(TokenType.Right));
        break;
      case ":":
        tokens.push(token(TokenType.Colon));
        break;
      case ";":
        tokens.push(token(TokenType.Semi));
        break;
      case " ":
      case "\t":
      case "\r":
      case "\n":
        break;
      case ")":
      case "]":
        return undefined;
      case "(":
        if (!delimited(TokenType.Comment, ")", "(")) return undefined;
        break;
      case '"':
        if (!delimited(TokenType.Quote, '"', undefined)) return undefined;
        break;
      case "[":
        if (!delimited(TokenType.Literal, "]", undefined)) return undefined;
        break;
      default: {
        let value = "";
        do {
          if (text[i] === "\\" && ++i >= length) break;
          value += text[i];
          if (++i >= length) break;
        } while (atomOk(text[i]));
        i--;
        tokens.push(token(atomType(value), value));
      }
    }
  }
  return tokens;
}

function needsSpace(last: TokenType | 0, next: TokenType): boolean {
  if (last === 0) return false;
  if (last === TokenType.Colon || last === TokenType.Comma) return true;
  if (next === TokenType.Left) return true;
  const word = (t: TokenType) =>
    t === TokenType.Atom || t === TokenType.Literal || t === TokenType.Quote ||
    t === TokenType.Comment;
  return word(last) && word(next);
}

const PUNCTUATION: Partial<Record<TokenType, string>> = {
  [TokenType.At]: "@",
  [TokenType.Dot]: ".",
  [TokenType.Left]: "<",
  [TokenType.Right]: ">",
  [TokenType.Semi]: ";",
  [TokenType.Colon]: ":",
};

const DELIMITERS: Partial<Record<TokenType, [string, string]>> = {
  [TokenType.Quote]: ['"', '"'],
  [TokenType.Literal]: ["[", "]"],
  [TokenType.Comment]: ["(", ")"],
};

/**
 * Writes tokens back as a header field ending in LF (token822_unparse): a
 * break is placed after every comma, and breaks are taken out again while
 * the line they would join stays within `lineLength` characters.
 */
export function formatTokens(tokens: readonly Token[], lineLength = LINE_LENGTH): string {
  const out: string[] = [];
  let lineStart = 0;
  let lastBreak = -1;
  const provisionalBreak = () => {
    const s = out.length;
    out.push("\n", " ");
    if (lastBreak >= 0 && (!lineLength || s - lineStart <= lineLength)) {
      out.splice(lastBreak, 2);
      lastBreak = s - 2;
    } else {
      if (lastBreak >= 0) lineStart = lastBreak + 1;
      lastBreak = s;
    }
  };
  let last: TokenType | 0 = 0;
  for (const t of tokens) {
    if (needsSpace(last, t.type)) out.push(" ");
    last = t.type;
    if (t.type === TokenType.Comma) {
      out.push(",");
      provisionalBreak();
      continue;
    }
    const punctuation = PUNCTUATION[t.type];
    if (punctuation !== undefined) {
      out.push(punctuation);
      continue;
    }
    const delimiters = DELIMITERS[t.type];
    if (delimiters) out.push(delimiters[0]);
    for (const ch of t.text) {
      if (`"[]()\\\r\n`.includes(ch)) out.push("\\");
      out.push(ch);
    }
    if (delimiters) out.push(delimiters[1]);
  }
  provisionalBreak();
  out.pop();
  return out.join("");
}

/** An address's tokens as a plain string: comments dropped, quotes removed (token822_unquote). */
export function unquoteTokens(tokens: readonly Token[]): string {
  let out = "";
  for (const t of tokens) {
    switch (t.type) {
      case TokenType.Comment:
        break;
      case TokenType.Literal:
        out += `[${t.text}]`;
        break;
      case TokenType.Atom:
      case TokenType.Quote:
        out += t.text;
        break;
      default:
        out += PUNCTUATION[t.type] ?? ",";
    }
  }
  return out;
}

/**
 * Walks the address list of a header field (tokens 0 and 1 are the field
 * name and colon) from right to left, as token822_addrlist does, calling
 * `rewrite` with each address's tokens in REVERSE order (rightmost first);
 * the callback may change that array in place. Returns the field's tokens
 * with the rewritten addresses, or undefined when the list does not parse
 * (unbalanced group or angle brackets).
 */
export function rewriteAddressList(
  tokens: readonly Token[],
  rewrite: (reversedAddress: Token[]) => void,
): Token[] | undefined {
  const out: Token[] = [];
  let address: Token[] = [];
  let inGroup = false;
  let wordOk = true;
  const beginning = 2;
  let t = tokens.length - 1;

  const flush = () => {
    if (address.length === 0) return;
    rewrite(address);
    out.push(...address);
    address = [];
  };
  const flushComma = () => {
    if (address.length === 0) return;
    flush();
    out.push(token(TokenType.Comma));
  };

  while (t >= beginning) {
    const type = tokens[t].type;
    if (type === TokenType.Semi) {
      flushComma();
      if (inGroup) return undefined;
      inGroup = true;
      wordOk = true;
    } else if (type === TokenType.Colon) {
      flush();
      if (!inGroup) return undefined;
      inGroup = false;
      while (t >= beginning && tokens[t].type !== TokenType.Comma) out.push(tokens[t--]);
      if (t >= beginning) out.push(tokens[t--]);
      wordOk = true;
      continue;
    } else if (type === TokenType.Right) {
      flushComma();
      out.push(tokens[t--]);
      while (t >= beginning && tokens[t].type !== TokenType.Left) address.push(tokens[t--]);
      // The address is used even when empty: <>.
      rewrite(address);
      out.push(...address);
      address = [];
      if (t < beginning) return undefined;
      out.push(tokens[t--]);
      while (
        t >= beginning &&
        ([
          TokenType.Comment,
          TokenType.Atom,
          TokenType.Quote,
          TokenType.At,
          TokenType.Dot,
        ] as TokenType[]).includes(tokens[t].type)
      ) out.push(tokens[t--]);
      wordOk = false;
      continue;
    } else if (
      type === TokenType.Atom || type === TokenType.Quote || type === TokenType.Literal
    ) {
      if (!wordOk) flushComma();
      wordOk = false;
      address.push(tokens[t--]);
      continue;
    } else if (type === TokenType.Comment) {
      // A comment is lexically a space: it does not change wordOk.
    } else if (type === TokenType.Comma) {
      flush();
      wordOk = true;
    } else {
      wordOk = true;
      address.push(tokens[t--]);
      continue;
    }
    out.push(tokens[t--]);
  }
  flush();
  t++;
  while (t > 0) out.push(tokens[--t]);
  return out.reverse();
}
