/**
 * Sizes as an operator types and reads them: `100M`, `2G`, `512K`, `1500`
 * (bytes), and `0` or `none` for no limit. Suffixes are powers of 1024, as
 * `du -h` and vpopmail's vmoduser -q read them. Pure.
 */
import { AccountError } from "./account_names.ts";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `100M` → 104857600; `0` and `none` → 0. Throws AccountError("invalid") naming the text. */
export function parseSize(text: string): number {
  if (text.toLowerCase() === "none") return 0;
  const match = /^(\d+)([KMGT]?)B?$/i.exec(text);
  const value = match ? Number(match[1]) * UNITS[match[2].toUpperCase()] : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new AccountError(
      `Invalid size ${JSON.stringify(text)} (a whole number of bytes, or with K, M, G or T; ` +
        `0 or none for no limit)`,
      "invalid",
    );
  }
  return value;
}

/** 104857600 → `100M`, 1536 → `1.5K`, 900 → `900`: at most one decimal, in the largest unit >= 1. */
export function formatSize(bytes: number): string {
  for (const unit of ["T", "G", "M", "K"]) {
    const size = UNITS[unit];
    if (bytes >= size) {
      const value = Math.round((bytes / size) * 10) / 10;
      return `${Number.isInteger(value) ? value : value.toFixed(1)}${unit}`;
    }
  }
  return String(bytes);
}
