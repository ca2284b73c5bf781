/**
 * Internationalized domain names as DNS holds them (RFC 5890 §2.3.2.1): a
 * name with non-ASCII characters is asked by its A-labels (`例子.测试` →
 * `xn--fsqu00a.xn--0zwm56d`), through node:url's UTS #46 mapping, which also
 * lower-cases. SMTPUTF8 addresses bring such domains as byte strings (their
 * UTF-8 bytes, one char per byte); control files and command lines bring them
 * as JS text; both are accepted. Pure.
 */
import { domainToASCII } from "node:url";
import { byteStringText, isUtf8ByteString } from "../bytes.ts";

/**
 * The name to query for `name`: ASCII as it is; otherwise its A-labels, or
 * `name` unchanged when it makes no valid IDN (the query then fails as for
 * any bad name). A string whose chars are all below 256 and form valid UTF-8
 * is read as a byte string, anything else as text.
 */
export function dnsName(name: string): string {
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\x7f]/.test(name)) return name;
  // deno-lint-ignore no-control-regex
  const byteString = !/[^\x00-\xff]/.test(name) && isUtf8ByteString(name);
  return domainToASCII(byteString ? byteStringText(name) : name) || name;
}
