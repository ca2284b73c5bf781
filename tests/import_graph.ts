/**
 * The repository's source as the architecture test sees it: the files, their
 * imports (with type-only imports told apart, since they are gone at run
 * time), the modules reachable from one, the string literals in a file, and
 * the cycles of a directed graph. Reads the files; judges nothing.
 */

/** The repository root, with a trailing slash. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** Every non-test .ts file under `dir` (relative to the root), sorted. */
export function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(path);
  }
  return files.sort();
}

const texts = new Map<string, string>();

/** A file's text (relative to the root), read once. */
export function sourceText(path: string): string {
  let text = texts.get(path);
  if (text === undefined) {
    text = Deno.readTextFileSync(`${ROOT}${path}`);
    texts.set(path, text);
  }
  return text;
}

/** Comments, string literals and template literals, in source order (one level of `${}`). */
const TOKEN =
  /\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\$]|\\.|\$(?!\{)|\$\{[^}]*\})*`/g;

/** `text` with its comments blanked out (string literals kept, so "//" in a URL is safe). */
export function withoutComments(text: string): string {
  return text.replace(
    TOKEN,
    (token) => token.startsWith("//") || token.startsWith("/*") ? " " : token,
  );
}

/**
 * The literal text of every string and template literal in `text`, comments
 * skipped; a template's `${...}` parts are cut out, so `${root}/lock/x`
 * gives ["/lock/x"]. Module specifiers are literals too: callers skip them.
 */
export function stringLiterals(text: string): string[][] {
  const literals: string[][] = [];
  for (const [token] of text.matchAll(TOKEN)) {
    if (token.startsWith("//") || token.startsWith("/*")) continue;
    const body = token.slice(1, -1);
    literals.push(token.startsWith("`") ? body.split(/\$\{[^}]*\}/) : [body]);
  }
  return literals;
}

export interface ImportRef {
  specifier: string;
  /** `import type`, `export type` or braces holding only `type` names: erased at run time. */
  typeOnly: boolean;
}

const IMPORT =
  /\b(?:import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm;

/** The imports and re-exports of one source text. */
export function importsOf(text: string): ImportRef[] {
  const refs: ImportRef[] = [];
  for (const match of withoutComments(text).matchAll(IMPORT)) {
    const dynamic = match[4] ?? match[5];
    if (dynamic !== undefined) {
      refs.push({ specifier: dynamic, typeOnly: false });
      continue;
    }
    const braces = /^\{([\s\S]*)\}$/.exec(match[2].trim());
    const names = braces?.[1].split(",").map((name) => name.trim()).filter((name) => name !== "");
    const onlyTypes = names !== undefined && names.length > 0 &&
      names.every((name) => name.startsWith("type "));
    refs.push({ specifier: match[3], typeOnly: match[1] !== undefined || onlyTypes });
  }
  return refs;
}

/** A specifier as a path from the root (`appliance/x.ts`), or unchanged when not relative. */
export function resolveSpecifier(from: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  return new URL(specifier, `file:///${from}`).pathname.slice(1);
}

/** The resolved targets of a file's imports; `runtime` leaves out type-only ones. */
export function importTargets(path: string, options: { runtime?: boolean } = {}): string[] {
  return importsOf(sourceText(path)).filter((ref) => !(options.runtime && ref.typeOnly))
    .map((ref) => resolveSpecifier(path, ref.specifier));
}

/**
 * The modules reachable from `entry` through its relative imports (run-time
 * ones only when `runtime`), each mapped to the module that first imported
 * it; `entry` maps to undefined.
 */
export function importClosure(
  entry: string,
  options: { runtime?: boolean } = {},
): Map<string, string | undefined> {
  const parents = new Map<string, string | undefined>([[entry, undefined]]);
  const pending = [entry];
  for (let file = pending.shift(); file !== undefined; file = pending.shift()) {
    for (const target of importTargets(file, options)) {
      if (!target.endsWith(".ts") || target.includes(":") || parents.has(target)) continue;
      parents.set(target, file);
      pending.push(target);
    }
  }
  return parents;
}

/** The import chain from a closure's entry to `file`: "a.ts -> b.ts -> file". */
export function importChain(closure: Map<string, string | undefined>, file: string): string {
  const chain = [file];
  for (let parent = closure.get(file); parent !== undefined; parent = closure.get(parent)) {
    chain.unshift(parent);
  }
  return chain.join(" -> ");
}

/**
 * The strongly connected components of more than one node in a directed
 * graph (Tarjan): every cycle lies inside one. Each component is sorted.
 */
export function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** Lines in a text, as `wc -l` counts them. */
export function lineCount(text: string): number {
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}
