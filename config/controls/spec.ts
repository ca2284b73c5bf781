/**
 * The shape of one entry of the controls table (config/controls.ts): a
 * control file's name, kind, default, readers and meaning.
 */

/**
 * line: first line only; lines: every line (multi-line smtpgreeting); list:
 * lines with blanks and `#` comments skipped; number: a whole number; cdb: a
 * binary cdb built from the list of the same name without `.cdb`.
 */
export type ControlKind = "line" | "lines" | "list" | "number" | "cdb";

/** Who reads a file: qmd's roles, plus the inject/sendmail commands. */
export type ControlReader =
  | "send"
  | "smtpd"
  | "pop3d"
  | "auth"
  | "local"
  | "remote"
  | "inject"
  | "admin"
  | "acme";

export interface ControlSpec {
  name: string;
  kind: ControlKind;
  /** The default as text: a number, "none", or "me" (the value of control/me). */
  default: string;
  /** When the default is "me" and control/me is absent too: qmail's literal fallback. */
  fallback?: string;
  readers: readonly ControlReader[];
  /** One line: what the file means. */
  meaning: string;
  /** False for files qmail reads that qmd does not read yet. */
  read: boolean;
}
