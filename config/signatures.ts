/**
 * control/signatures (docs/patches.md seed 002): base64 prefixes of the
 * first body line of MIME parts to refuse as executable content, one a
 * line, `#` comments allowed. EXECUTABLEOK set turns the check off for a
 * client.
 *
 * Leaf module: plain data; the scan is appliance/filters/signatures.ts.
 */
import { ControlError, orDefault, readControlList } from "./control.ts";

/** One signature and the line of control/signatures it came from. */
export interface Signature {
  prefix: string;
  line: number;
}

export interface SignatureControls {
  signatures: Signature[];
}

const BASE64 = /^[A-Za-z0-9+/=]+$/;

export function loadSignatureControls(home: string): SignatureControls {
  const path = `${home}/control/signatures`;
  const entries = readControlList(home, "signatures") ?? [];
  const signatures = orDefault(() =>
    entries.map(({ value, line }) => {
      const prefix = value.trim();
      if (!BASE64.test(prefix)) {
        throw new ControlError(path, line, `not a base64 prefix: ${JSON.stringify(prefix)}`);
      }
      return { prefix, line };
    }), []);
  return { signatures };
}

/** The signatures for a client: none when EXECUTABLEOK is set or the file lists none. */
export function signatureSettings(
  controls: SignatureControls,
  env: Readonly<Record<string, string | undefined>>,
): SignatureControls | undefined {
  if (controls.signatures.length === 0 || env.EXECUTABLEOK !== undefined) return undefined;
  return controls;
}
