/**
 * @peculiar/x509 (with the Reflect metadata polyfill its tsyringe container
 * needs), loaded the first time a certificate or CRL is made or read.
 *
 * Loading it costs about 100 ms of CPU per isolate, and every role imports
 * the tls module, so a static import would slow every isolate's start while
 * most never touch a certificate. It is loaded with require() rather than
 * import() so that reading a certificate or CRL stays synchronous, as
 * `qmd showctl`'s summaries and `qmd init --me`'s look at the old
 * certificate are. Making and verifying signatures is WebCrypto's
 * (crypto.subtle), hence asynchronous.
 */
import { createRequire } from "node:module";
import type * as X509 from "@peculiar/x509";

export type { X509 };

let loaded: typeof X509 | undefined;

/** The @peculiar/x509 module, loaded on the first call. */
export function x509(): typeof X509 {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    require("reflect-metadata");
    loaded = require("@peculiar/x509") as typeof X509;
  }
  return loaded;
}
