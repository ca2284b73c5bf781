/**
 * One ACME order (RFC 8555 §7.4) with npm acme-client: the account (made
 * once, its key kept in HOME/acme/account.key), a new P-256 key and CSR for
 * control/acme's names, the HTTP-01 authorization of each name answered by
 * our own responder (acme_http.ts) while the order runs, then finalize and
 * download. Writing control/acme is the operator's agreement to the CA's
 * terms of service (termsOfServiceAgreed, §7.3).
 *
 * acme-client's own pre-check of the challenge URL (skipChallengeVerification
 * false) is skipped: it would fetch our name from here, which needs the
 * name's DNS and port 80 to loop back; the CA's validation is the real test.
 */
import acme from "acme-client";
import https from "node:https";
import type { AcmeControls } from "../../config/acme.ts";
import { type ChallengeAnswers, listenForChallenges } from "./acme_http.ts";
import { accountKeyPath, acmeStateDirectory } from "./acme_state.ts";
import { writeFileAtomically } from "../control_files.ts";

/** What an order gives: the new key (PKCS#8 PEM) and the chain, the certificate first. */
export interface IssuedCertificate {
  keyPem: string;
  chainPem: string;
}

/** Orders a certificate for `controls.names`; rejects with the CA's or the network's error. */
export type OrderCertificate = (controls: AcmeControls) => Promise<IssuedCertificate>;

/** The real order against the CA of control/acme, for the home's account. */
export function acmeOrderer(home: string): OrderCertificate {
  return (controls) => orderCertificate(home, controls);
}

async function orderCertificate(home: string, controls: AcmeControls): Promise<IssuedCertificate> {
  // Listening first: a port that cannot be had fails the attempt before the CA is asked anything.
  const answers: ChallengeAnswers = new Map();
  const responder = await listenForChallenges(controls.http.host, controls.http.port, answers);
  try {
    // A private CA's trust anchors (control/acme's ca line), for the directory's HTTPS only.
    acme.axios.defaults.httpsAgent = controls.caFile === undefined
      ? undefined
      : new https.Agent({ ca: await Deno.readTextFile(controls.caFile) });
    const client = new acme.Client({
      directoryUrl: controls.directory,
      accountKey: await accountKey(home),
    });
    await client.createAccount({ termsOfServiceAgreed: true, contact: controls.contacts });
    const [key, csr] = await acme.crypto.createCsr(
      { commonName: controls.names[0], altNames: controls.names },
      await acme.crypto.createPrivateEcdsaKey("P-256"),
    );
    const chain = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      skipChallengeVerification: true,
      challengeCreateFn: (_authz, challenge, keyAuthorization) => {
        answers.set(challenge.token, keyAuthorization);
        return Promise.resolve();
      },
      challengeRemoveFn: (_authz, challenge) => {
        answers.delete(challenge.token);
        return Promise.resolve();
      },
    });
    return { keyPem: key.toString(), chainPem: chain };
  } finally {
    await responder.close();
  }
}

/** HOME/acme/account.key, made (P-256, mode 0600) when there is none. */
async function accountKey(home: string): Promise<string> {
  const path = accountKeyPath(home);
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(acmeStateDirectory(home), { recursive: true, mode: 0o700 });
  const key = (await acme.crypto.createPrivateEcdsaKey("P-256")).toString();
  writeFileAtomically(path, new TextEncoder().encode(key), 0o600);
  return key;
}
