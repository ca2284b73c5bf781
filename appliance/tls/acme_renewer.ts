/**
 * One look at the certificate, as the acme isolate takes it at start, once a
 * day and when an order is due (acme_schedule.ts): order when due, and put
 * the new key and chain in control/servercert.pem through a temporary file
 * and a rename (its mode kept; 0600 when new). Nothing else is told: the
 * supervisor's TLS watch (tls_files_watch.ts) notices the new file within a
 * second, checks it and hands it to every smtpd and pop3d isolate at once,
 * the same hot reload a certificate copied in by hand gets; sessions already
 * open keep theirs. A failed order is logged with its reason and retried with backoff;
 * the certificate in force is left alone.
 *
 * Time and the order itself come in as arguments, so the tests drive it with
 * a fake clock and a fake CA as well as with pebble.
 */
import crypto from "node:crypto";
import type { AcmeControls } from "../../config/acme.ts";
import { readControlText } from "../../config/control.ts";
import { writeControlFile } from "../control_files.ts";
import { logEvent } from "../log.ts";
import type { IssuedCertificate, OrderCertificate } from "./acme_order.ts";
import { formatTime, nextAcmeOrder, type ServedCertificate } from "./acme_schedule.ts";
import { type AcmeState, readAcmeState, writeAcmeState } from "./acme_state.ts";
import { parsePemBlocks } from "./pem.ts";

export interface AcmeRenewerOptions {
  home: string;
  order: OrderCertificate;
  now?: () => Date;
}

export class AcmeRenewer {
  readonly #home: string;
  readonly #order: OrderCertificate;
  readonly #now: () => Date;

  constructor(options: AcmeRenewerOptions) {
    this.#home = options.home;
    this.#order = options.order;
    this.#now = options.now ?? (() => new Date());
  }

  /** Orders if due; returns when to look again. Never throws for a failed order. */
  async check(controls: AcmeControls): Promise<Date> {
    const now = this.#now();
    const previous = readAcmeState(this.#home) ?? { failures: 0 };
    const history = {
      failures: previous.failures,
      lastFailure: previous.lastFailure === undefined ? undefined : new Date(previous.lastFailure),
      lastIssued: previous.lastIssued === undefined ? undefined : new Date(previous.lastIssued),
    };
    const decision = nextAcmeOrder(
      now,
      controls.names,
      controls.renewDays,
      servedCertificate(this.#home),
      history,
    );
    if (decision.orderAt.getTime() > now.getTime()) {
      await this.#save(previous, controls, decision);
      return decision.checkAt;
    }
    const names = controls.names.join(", ");
    logEvent(
      "acme_ordering",
      `status: acme: ordering a certificate for ${names} from ${controls.directory} (${decision.reason})`,
      { names, directory: controls.directory },
    );
    let state: AcmeState;
    let failure: string | undefined;
    try {
      const issued = await this.#order(controls);
      const expires = this.#install(issued);
      state = {
        failures: 0,
        lastAttempt: now.toISOString(),
        lastOutcome: "issued",
        lastIssued: now.toISOString(),
      };
      logEvent(
        "acme_issued",
        `status: acme: certificate for ${names} installed in control/servercert.pem, ` +
          `expires ${formatTime(expires)}`,
        { names, expires: expires.toISOString() },
      );
    } catch (error) {
      failure = (error as Error).message.replace(/\s+/g, " ");
      state = {
        failures: previous.failures + 1,
        lastAttempt: now.toISOString(),
        lastOutcome: "failed",
        lastError: failure,
        lastFailure: now.toISOString(),
        ...(previous.lastIssued === undefined ? {} : { lastIssued: previous.lastIssued }),
      };
    }
    const next = nextAcmeOrder(
      now,
      controls.names,
      controls.renewDays,
      servedCertificate(this.#home),
      {
        failures: state.failures,
        lastFailure: now,
        lastIssued: state.lastIssued === undefined ? undefined : new Date(state.lastIssued),
      },
    );
    if (failure !== undefined) {
      logEvent(
        "acme_failed",
        `alert: acme: ordering a certificate for ${names} failed: ${failure}; ` +
          `keeping the current certificate; next attempt ${formatTime(next.orderAt)}`,
        { names, reason: failure, failures: state.failures },
      );
    }
    await this.#save(state, controls, next);
    return next.checkAt;
  }

  /** Checks the issued key and chain, then replaces servercert.pem. Returns the expiry. */
  #install(issued: IssuedCertificate): Date {
    const blocks = parsePemBlocks(issued.chainPem).filter((block) => block.label === "CERTIFICATE");
    if (blocks.length === 0) throw new Error("the CA sent no certificate");
    const certificate = new crypto.X509Certificate(blocks[0].der);
    if (!certificate.checkPrivateKey(crypto.createPrivateKey(issued.keyPem))) {
      throw new Error("the CA's certificate is not for the key of the request");
    }
    const text = `${issued.keyPem.trim()}\n${blocks.map((block) => block.text).join("")}`;
    // Atomically (servercert.pem.tmp.PID, fsync, rename), keeping the file's mode; new: 0600.
    writeControlFile(this.#home, "servercert.pem", text, 0o600);
    return new Date(certificate.validTo);
  }

  async #save(
    state: AcmeState,
    controls: AcmeControls,
    decision: { orderAt: Date; checkAt: Date; reason: string },
  ): Promise<void> {
    await writeAcmeState(this.#home, {
      ...state,
      names: controls.names,
      nextOrder: decision.orderAt.toISOString(),
      nextCheck: decision.checkAt.toISOString(),
      reason: decision.reason,
    });
  }
}

/** control/servercert.pem's first certificate, or undefined when absent or unreadable. */
export function servedCertificate(home: string): ServedCertificate | undefined {
  try {
    const text = readControlText(home, "servercert.pem");
    if (text === undefined) return undefined;
    const block = parsePemBlocks(text).find((each) => each.label === "CERTIFICATE");
    if (block === undefined) return undefined;
    const certificate = new crypto.X509Certificate(block.der);
    const names = (certificate.subjectAltName ?? "").split(/,\s*/)
      .filter((entry) => entry.startsWith("DNS:"))
      .map((entry) => entry.slice(4).toLowerCase());
    return {
      notAfter: new Date(certificate.validTo),
      names,
      selfSigned: certificate.subject === certificate.issuer &&
        certificate.verify(certificate.publicKey),
    };
  } catch {
    return undefined;
  }
}
