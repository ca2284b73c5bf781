/**
 * The longest run of plain characters every match of a regular expression
 * must contain: `^[a-z0-9.]+@mailer12\.spam\.example$` cannot match a string
 * without `@mailer12.spam.example`. A list of thousands of expressions is
 * searched by asking `includes` first and running an expression only where
 * its literal is there (bm_patterns.ts), which is both fast and spares V8
 * from compiling, again after each garbage collection, expressions that
 * could never match. Pure.
 *
 * Conservative: a run ends at anything that is not one plain character (a
 * class, a group, an escape like `\d`, `.`, an anchor); a character under a
 * quantifier is left out; an expression with `|` outside a group, or an
 * escape this does not read, has no literal. Only ASCII is kept, and the
 * literal is lower-cased, as the lists' subjects are and as the `i` flag
 * matches. Fewer than MIN_LENGTH characters are not worth asking for.
 */

export const MIN_LENGTH = 3;

const QUANTIFIER = /^(?:[?*+]|\{\d+(?:,\d*)?\})/;

/** Index just past the group or class opening at `start` (`(` or `[`), or -1 when unbalanced. */
function skipBracketed(source: string, start: number): number {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      i++;
    } else if (c === "[") {
      // A class: up to its unescaped `]`, a `]` first in it being a member.
      let j = i + 1;
      if (source[j] === "^") j++;
      if (source[j] === "]") j++;
      while (j < source.length && source[j] !== "]") j += source[j] === "\\" ? 2 : 1;
      if (j >= source.length) return -1;
      i = j;
      if (depth === 0) return i + 1;
    } else if (c === "(") {
      depth++;
    } else if (c === ")") {
      depth--;
      if (depth === 0) return i + 1;
      if (depth < 0) return -1;
    }
  }
  return -1;
}

/** The required literal of a JavaScript regular expression source, lower-cased, or undefined. */
export function requiredLiteral(source: string): string | undefined {
  let best = "";
  let run = "";
  const end = () => {
    if (run.length > best.length) best = run;
    run = "";
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const quantified = QUANTIFIER.exec(source.slice(i));
    if (quantified !== null) {
      // The atom before it may repeat or be absent: it is not part of the run.
      run = run.slice(0, -1);
      end();
      i += quantified[0].length;
      continue;
    }
    if (c === "|") return undefined;
    if (c === "(" || c === "[") {
      end();
      i = skipBracketed(source, i);
      if (i < 0) return undefined;
      continue;
    }
    if (c === "\\") {
      const next = source[i + 1];
      if (next === undefined || /[0-9A-Za-z]/.test(next)) {
        // \d, \w, \b, back references, \x41, \u0041 ...: not read here.
        end();
        if (next === undefined || !/[dDwWsSbB]/.test(next)) {
          return best.length >= MIN_LENGTH ? best : undefined;
        }
      } else run += next;
      i += 2;
      continue;
    }
    if (c === "." || c === "^" || c === "$" || c === ")" || c === "]" || c.charCodeAt(0) > 0x7e) {
      end();
    } else {
      run += c.toLowerCase();
    }
    i++;
  }
  end();
  return best.length >= MIN_LENGTH ? best : undefined;
}
