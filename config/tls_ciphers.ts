/**
 * control/tlsserverciphers and control/tlsclientciphers (docs/patches.md seed
 * 001) are OpenSSL cipher lists for TLS 1.2. Deno's TLS (rustls) takes no
 * cipher list: it offers its own TLS 1.2 suites, all ECDHE with AES-GCM or
 * ChaCha20-Poly1305 (RUSTLS_TLS12 below). So a list is honoured exactly when
 * it allows every one of them, as the usual ones do (`HIGH:!aNULL:!MD5`,
 * `ALL:!LOW:!SSLv2:!EXP`, `ECDHE+AESGCM:ECDHE+CHACHA20`): qmd then offers
 * nothing the list forbids. A list that leaves one out cannot be honoured and
 * is refused, naming what qmd would still offer, never silently ignored.
 *
 * The list is read as OpenSSL reads it, for what it says about these six
 * suites: items separated by `:`, `,` or spaces; `A+B` is both; `!` removes
 * for good, `-` removes, `+` only reorders; `@STRENGTH` and `@SECLEVEL=n`
 * change nothing here; an unknown word matches nothing. TLS 1.3 has no cipher
 * list in these files (OpenSSL sets its suites apart) and is not affected.
 */
import { ControlError, orDefault, readControlList } from "./control.ts";

interface Suite {
  name: string;
  /** The OpenSSL words that select it. */
  words: ReadonlySet<string>;
}

function suite(name: string, auth: "RSA" | "ECDSA", cipher: "AES256" | "AES128" | "CHACHA20") {
  const words = [
    name,
    "ALL",
    "DEFAULT",
    "HIGH",
    "TLSv1.2",
    "ECDHE",
    "EECDH",
    "kECDHE",
    "kEECDH",
    "AEAD",
    auth === "RSA" ? "aRSA" : "aECDSA",
    auth === "RSA" ? "RSA" : "ECDSA",
    ...(cipher === "CHACHA20"
      ? ["CHACHA20", "CHACHA20POLY1305", "SHA256"]
      : ["AES", "AESGCM", cipher, cipher === "AES256" ? "SHA384" : "SHA256"]),
  ];
  return { name, words: new Set(words.map((word) => word.toUpperCase())) };
}

/** The TLS 1.2 suites rustls offers, by their OpenSSL names. */
export const RUSTLS_TLS12: readonly Suite[] = [
  suite("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDSA", "AES256"),
  suite("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDSA", "AES128"),
  suite("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDSA", "CHACHA20"),
  suite("ECDHE-RSA-AES256-GCM-SHA384", "RSA", "AES256"),
  suite("ECDHE-RSA-AES128-GCM-SHA256", "RSA", "AES128"),
  suite("ECDHE-RSA-CHACHA20-POLY1305", "RSA", "CHACHA20"),
];

function selects(item: string, each: Suite): boolean {
  return item.split("+").every((word) => each.words.has(word.toUpperCase()));
}

/** Which of RUSTLS_TLS12 an OpenSSL cipher list allows, in their order. */
export function allowedSuites(list: string): Suite[] {
  const allowed = new Set<Suite>();
  const banned = new Set<Suite>();
  for (const raw of list.split(/[:, ]+/)) {
    if (raw === "" || raw.startsWith("@")) continue;
    const sign = "!-+".includes(raw[0]) ? raw[0] : "";
    const item = sign === "" ? raw : raw.slice(1);
    for (const each of RUSTLS_TLS12) {
      if (!selects(item, each)) continue;
      if (sign === "!") {
        banned.add(each);
        allowed.delete(each);
      } else if (sign === "-") {
        allowed.delete(each);
      } else if (sign === "" && !banned.has(each)) {
        allowed.add(each);
      }
    }
  }
  return RUSTLS_TLS12.filter((each) => allowed.has(each));
}

/** Throws a ControlError naming `file` when qmd's TLS cannot keep to `list` (see above). */
export function checkCipherList(file: string, line: number, list: string): void {
  const allowed = allowedSuites(list);
  if (allowed.length === RUSTLS_TLS12.length) return;
  const left = RUSTLS_TLS12.filter((each) => !allowed.includes(each)).map((each) => each.name);
  throw new ControlError(
    file,
    line,
    allowed.length === 0
      ? "qmd's TLS offers only ECDHE suites with AES-GCM or ChaCha20-Poly1305 and this list " +
        "allows none of them; remove the file or allow them (e.g. HIGH:!aNULL)"
      : `qmd's TLS cannot leave out single cipher suites and would still offer ${
        left.join(", ")
      }; remove the file or allow them`,
  );
}

/**
 * control/tlsserverciphers checked: its lines joined with ":" as the TLS patch
 * joins them; a list qmd cannot keep to is a ControlError (collected by
 * loadAllControls, so `qmd start` names it and refuses to start).
 */
export function checkServerCiphers(home: string): void {
  orDefault(() => {
    const lines = readControlList(home, "tlsserverciphers");
    const list = lines?.map((entry) => entry.value).join(":") ?? "";
    if (list !== "") {
      checkCipherList(`${home}/control/tlsserverciphers`, lines![0].line, list);
    }
  }, undefined);
}
