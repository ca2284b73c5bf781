/**
 * `qmd showctl [--home DIR] [--json]`: like qmail-showctl, every control
 * file qmd knows (config/controls.ts), what it means, its value, or the
 * default in force when it is absent; then the files in control/ that qmd
 * does not read. PEM files are summarised (pem_summary.ts): certificates by
 * subject, names, issuer and validity, never key material. With control/acme,
 * the renewer's last attempt and next renewal (HOME/acme/state.json).
 */
import { parseCommand } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { ControlError, parseControlList, readControlText } from "../../config/control.ts";
import { CONTROLS, type ControlSpec, findControl } from "../../config/controls.ts";
import { type CertificateSummary, summarizePem } from "./pem_summary.ts";
import { listDkimKeyFiles, readDkimKey } from "../../config/dkim.ts";
import { EXIT } from "../exit_codes.ts";
import { type AcmeState, describeAcmeState, readAcmeState } from "../tls/acme_state.ts";

const NAME = "qmd showctl";

const USAGE = `usage: qmd showctl [--home DIR] [--json]

Prints every control file qmd knows: its kind, who reads it, what it means,
and its value, or the default in force when it is absent. Then lists the
files in control/ that qmd does not read.

  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)
  --json       one JSON object instead of text
`;

export interface ControlState {
  name: string;
  kind: string;
  readers: string[];
  read: boolean;
  meaning: string;
  present: boolean;
  /** The value (lines for list and lines kinds); undefined when absent or unreadable. */
  value?: string | string[];
  /** The default in force when absent, with "me" resolved. */
  default?: string;
  /** Why a present file cannot be used. */
  error?: string;
  /** For PEM files: the certificates in them. */
  certificates?: CertificateSummary[];
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0].replace(/[ \t\r]+$/, "");
}

/** The state of one control file under `home`; `now` judges certificate expiry. */
export function describeControl(
  home: string,
  spec: ControlSpec,
  now: Date = new Date(),
): ControlState {
  const state: ControlState = {
    name: spec.name,
    kind: spec.kind,
    readers: [...spec.readers],
    read: spec.read,
    meaning: spec.meaning,
    present: false,
  };
  const path = `${home}/control/${spec.name}`;
  if (spec.kind === "cdb") {
    try {
      state.value = `${Deno.statSync(path).size} bytes`;
      state.present = true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) state.error = (error as Error).message;
      state.default = spec.default;
    }
    return state;
  }
  let text: string | undefined;
  try {
    text = readControlText(home, spec.name);
  } catch (error) {
    state.present = true;
    state.error = error instanceof ControlError ? error.message : String(error);
    return state;
  }
  if (text === undefined) {
    if (spec.name.startsWith("tlshosts/")) return describePemDirectory(home, state, now);
    if (spec.name.startsWith("dkim/")) return describeDkimKeys(home, state);
    state.default = resolveDefault(home, spec);
    return state;
  }
  state.present = true;
  if (spec.name.endsWith(".pem")) {
    const summary = summarizePem(spec.name, text, now);
    state.value = summary.lines;
    state.certificates = summary.certificates;
    if (summary.error !== undefined) state.error = `${path}: ${summary.error}`;
    return state;
  }
  switch (spec.kind) {
    case "list":
      state.value = parseControlList(text).map((entry) => entry.value);
      break;
    case "lines": {
      const lines = text.split("\n").map((line) => line.replace(/[ \t\r]+$/, ""));
      if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
      state.value = lines;
      break;
    }
    case "number": {
      const line = firstLine(text).trim();
      if (line === "") {
        state.default = spec.default;
      } else if (!/^\d+$/.test(line)) {
        state.error = `${path} line 1: expected a whole number, found ${JSON.stringify(line)}`;
      }
      state.value = line;
      break;
    }
    default:
      state.value = firstLine(text);
  }
  return state;
}

/** control/dkim/DOMAIN/SELECTOR.key: one line a key (never key material); a broken one is the error. */
function describeDkimKeys(home: string, state: ControlState): ControlState {
  const lines: string[] = [];
  try {
    for (const { domain, selector } of listDkimKeyFiles(home)) {
      try {
        const key = readDkimKey(home, domain, selector);
        lines.push(`${domain} ${selector} ${key.algorithm}`);
      } catch (error) {
        state.error ??= (error as Error).message;
      }
    }
  } catch (error) {
    state.error = (error as Error).message;
  }
  state.present = lines.length > 0 || state.error !== undefined;
  if (lines.length > 0) state.value = lines;
  if (!state.present) state.default = "none";
  return state;
}

/** control/tlshosts/*.pem, one summary line a block, each led by its file's name. */
function describePemDirectory(home: string, state: ControlState, now: Date): ControlState {
  const dir = `${home}/control/tlshosts`;
  let names: string[];
  try {
    names = Array.from(Deno.readDirSync(dir), (entry) => entry.name)
      .filter((name) => name.endsWith(".pem")).sort();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      state.present = true;
      state.error = `${dir}: cannot read: ${(error as Error).message}`;
    } else {
      state.default = "none";
    }
    return state;
  }
  if (names.length === 0) {
    state.default = "none";
    return state;
  }
  state.present = true;
  state.value = [];
  state.certificates = [];
  const problems: string[] = [];
  for (const name of names) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${dir}/${name}`);
    } catch (error) {
      problems.push(`${dir}/${name}: cannot read: ${(error as Error).message}`);
      continue;
    }
    const summary = summarizePem(name, text, now);
    state.value.push(...summary.lines.map((line) => `${name}: ${line}`));
    state.certificates.push(...summary.certificates);
    if (summary.error !== undefined) problems.push(`${dir}/${name}: ${summary.error}`);
  }
  if (problems.length > 0) state.error = problems.join("; ");
  return state;
}

function resolveDefault(home: string, spec: ControlSpec): string {
  if (spec.default !== "me") return spec.default;
  let me: string | undefined;
  try {
    const text = readControlText(home, "me");
    me = text === undefined ? undefined : firstLine(text);
  } catch {
    me = undefined;
  }
  if (me !== undefined) return `me = ${me}`;
  return spec.fallback !== undefined
    ? `${spec.fallback} (control/me is absent too)`
    : "none (control/me is absent too)";
}

/** Files in control/ that are not in the table (and not temporary files). */
export function unknownControls(home: string): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(`${home}/control`)) {
      if (/\.tmp(\.\d+)?$/.test(entry.name)) continue;
      // A directory of files in the table (dkim/, tlshosts/) is known.
      const known = findControl(entry.name) !== undefined ||
        entry.isDirectory && CONTROLS.some((spec) => spec.name.startsWith(`${entry.name}/`));
      if (!known) names.push(entry.isDirectory ? `${entry.name}/` : entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** The text report, one block per file. */
export function formatShowctl(
  home: string,
  states: ControlState[],
  unknown: string[],
  acme?: { state: AcmeState | undefined },
): string {
  const out: string[] = [`qmd home: ${home}`, ""];
  for (const state of states) {
    const who = state.readers.length > 0 ? state.readers.join(" ") : "nobody";
    const status = state.read ? who : `${who}, not read yet`;
    out.push(`${state.name} (${state.kind}; ${status}): ${state.meaning}`);
    if (state.error !== undefined) {
      out.push(`  (unusable) ${state.error}`);
      if (Array.isArray(state.value)) { for (const line of state.value) out.push(`  ${line}`); }
    } else if (!state.present) {
      out.push(`  (absent) default: ${state.default}`);
    } else if (Array.isArray(state.value)) {
      if (state.value.length === 0) out.push("  (present, no entries)");
      for (const line of state.value) out.push(`  ${line}`);
    } else if (state.value === "" && state.default !== undefined) {
      out.push(`  (empty) default: ${state.default}`);
    } else {
      out.push(`  ${state.value}`);
    }
  }
  if (acme !== undefined) {
    out.push("", `ACME (control/acme, ${home}/acme/state.json):`);
    for (const line of describeAcmeState(acme.state)) out.push(`  ${line}`);
  }
  if (unknown.length > 0) {
    out.push("", "Other files in control/ (qmd does not read them):");
    for (const name of unknown) out.push(`  ${name}`);
  }
  return out.join("\n");
}

export function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { home: { type: "string" }, json: { type: "boolean" } },
    positionals: false,
  }, args);
  if (!parsed.ok) return Promise.resolve(parsed.exitCode);
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home);
  if (problem !== undefined) {
    console.error(`${NAME}: ${problem}`);
    return Promise.resolve(EXIT.permanent);
  }
  const states = CONTROLS.map((spec) => describeControl(home, spec));
  const unknown = unknownControls(home);
  // The renewer's state, when control/acme turns it on (the certificate is servercert.pem's entry).
  const acme = states.find((state) => state.name === "acme")?.present
    ? { state: readAcmeState(home) }
    : undefined;
  if (parsed.values.json) {
    console.log(JSON.stringify({ home, controls: states, unknown, acme: acme?.state }, null, 2));
  } else {
    console.log(formatShowctl(home, states, unknown, acme));
  }
  return Promise.resolve(EXIT.ok);
}
