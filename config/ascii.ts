/**
 * ASCII-only lower case, as qmail's case_lowerb and constmap compare: bytes
 * (characters) at or above 0x80 are never touched. Used wherever qmail
 * compares domains and local parts case-insensitively.
 */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}
