/**
 * docs/design.md rule 5 held against the real source: errors carry their
 * permanence as one type (MailError), qmail's D/Z letters are read in one
 * place, and exit codes 100 and 111 are written by name (appliance/
 * exit_codes.ts), not as bare numbers.
 */
import { assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(path);
  }
  return files;
}

const SOURCES = [...sourceFiles("appliance"), ...sourceFiles("config"), "main.ts"];

/** A file's text without its comments, so that prose about 111 or "D…" does not count. */
function code(path: string): string {
  return Deno.readTextFileSync(`${ROOT}${path}`).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
}

/**
 * Errors that are not failures of mail but signals inside one connection's
 * loop (net/connection_io.ts): a read that timed out, a session to abandon.
 */
const NOT_MAIL_ERRORS = new Set(["ReadTimeout", "DeadlineExceeded", "SessionAbort"]);

Deno.test("mail error rules: every error class extends MailError", () => {
  const parents = new Map<string, string>();
  for (const file of SOURCES) {
    for (const match of code(file).matchAll(/\bclass\s+(\w+)\s+extends\s+([\w.]+)/g)) {
      parents.set(match[1], match[2]);
    }
  }
  const rootOf = (name: string): string => {
    let current = name;
    for (let parent = parents.get(current); parent !== undefined; parent = parents.get(current)) {
      if (current === "MailError") return current;
      current = parent;
    }
    return current;
  };
  const offenders = [...parents.keys()].filter((name) =>
    name !== "MailError" && !NOT_MAIL_ERRORS.has(name) &&
    /Error$/.test(rootOf(name)) && rootOf(name) !== "MailError"
  );
  assertEquals(offenders, []);
  assertEquals(rootOf("QueueError"), "MailError");
  assertEquals(rootOf("EnvelopeError"), "MailError");
});

Deno.test("mail error rules: only MailError declares a temporary field", () => {
  const offenders = SOURCES.filter((file) => file !== "config/mail_error.ts")
    .filter((file) => /\breadonly\s+temporary\b/.test(code(file)));
  assertEquals(offenders, []);
});

Deno.test("mail error rules: qmail's D/Z letter is read only by parseStatusText", () => {
  const offenders = SOURCES.filter((file) => file !== "appliance/mail_error.ts")
    .filter((file) => /startsWith\(\s*["'][DZ]["']\s*\)/.test(code(file)));
  assertEquals(offenders, []);
});

/**
 * 100 or 111 where an exit code is returned, passed, compared or assigned,
 * or named anywhere but appliance/exit_codes.ts.
 */
const BARE_EXIT = new RegExp(
  [
    /\b(?:return|exitCode\s*[:=]|code\s*:|exit\(|resolve\()\s*(?:100|111)\b/,
    /\b(?:report|fail|fatal)\(\s*(?:100|111)\b/,
    /,\s*(?:100|111)\s*\)/,
    /[=!]==\s*(?:100|111)\b/,
    /\?\s*(?:100|111)\s*:/,
    /:\s*(?:100|111)\s*[;,}]/,
    /\bexit (?:100|111)\b/,
    /EXIT\w*\s*=\s*(?:100|111)\b/,
  ].map((pattern) => pattern.source).join("|"),
);

Deno.test("mail error rules: exit codes 100 and 111 are written by name", () => {
  const offenders = SOURCES.filter((file) => file !== "appliance/exit_codes.ts")
    .flatMap((file) =>
      code(file).split("\n").filter((line) => BARE_EXIT.test(line)).map((line) =>
        `${file}: ${line.trim()}`
      )
    );
  assertEquals(offenders, []);
});
