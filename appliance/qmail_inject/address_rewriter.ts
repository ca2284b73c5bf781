/**
 * qmail-inject's address rewriting (rwgeneric in notqmail qmail-inject.c),
 * on an address in reverse token order: a source route is dropped, an
 * address without @ gets @defaulthost, a host ending in "+" gets plusdomain
 * in place of the "+", and a host without a dot gets .defaultdomain. Pure.
 */
import { type Token, TokenType } from "./token822.ts";

/** The control values as tokens, each with its leading "@" or "." (headers.ts parses them). */
export interface RewriteHosts {
  defaulthost: Token[];
  /** Undefined when control/defaultdomain has no dot (qmd's departure, see headers.ts). */
  defaultdomain: Token[] | undefined;
  plusdomain: Token[];
}

export class AddressRewriter {
  readonly #defaulthost: Token[];
  readonly #defaultdomain: Token[] | undefined;
  readonly #plusdomain: Token[];

  constructor(hosts: RewriteHosts) {
    this.#defaulthost = hosts.defaulthost;
    this.#defaultdomain = hosts.defaultdomain;
    this.#plusdomain = hosts.plusdomain;
  }

  /** Rewrites `address` (reverse token order) in place. */
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
