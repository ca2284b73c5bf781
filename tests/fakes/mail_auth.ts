/**
 * Keys, a DNS zone and signers for the Authentication-Results tests
 * (appliance/scan/auth_results_scan_test.ts, tests/auth_results_test.ts,
 * tests/auth_results_e2e_test.ts, the bench): DKIM keys made here (RSA 2048
 * and Ed25519), the zone that publishes them with SPF and DMARC records for
 * the fake DNS server, the RFC 8463 Appendix A records, and signing by npm
 * mailauth (DKIM and ARC sealing). Test only.
 */
import { generateKeyPairSync } from "node:crypto";
import type { Buffer } from "node:buffer";
import type { FakeZone } from "./fake_dns.ts";

export interface TestKey {
  /** PKCS#8 PEM, as mailauth's and nodemailer's signers take it. */
  privateKey: string;
  /** The p= value of the DKIM record. */
  publicRecord: string;
}

function rsaKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicRecord: (publicKey.export({ type: "spki", format: "der" }) as Buffer).toString("base64"),
  };
}

function ed25519Key(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const der = publicKey.export({ type: "spki", format: "der" }) as Buffer;
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    // RFC 8463 §4.2: the raw 32-byte key, the last 32 bytes of its SPKI.
    publicRecord: der.subarray(der.length - 32).toString("base64"),
  };
}

/** A DKIM key record as TXT character-strings of at most 255 bytes (RFC 6376 §3.6.2.2). */
function keyRecord(type: "rsa" | "ed25519", key: TestKey): string[] {
  const text = `v=DKIM1; k=${type}; p=${key.publicRecord}`;
  const strings: string[] = [];
  for (let i = 0; i < text.length; i += 200) strings.push(text.slice(i, i + 200));
  return strings;
}

/** The keys of one test run; generated once per module that asks. */
export const KEYS = { rsa: rsaKey(), ed25519: ed25519Key(), arc: rsaKey() };

/**
 * RFC 8463 Appendix A.2's records for football.example.com, the two keys
 * the Appendix A.3 message (tests/fixtures/dkim/rfc8463_a3.eml) is signed with.
 */
const RFC8463_ZONE: FakeZone = {
  "brisbane._domainkey.football.example.com": {
    txt: ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="],
  },
  "test._domainkey.football.example.com": {
    txt: [[
      "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR",
      "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC",
      "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3",
      "Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
    ]],
  },
  "_dmarc.football.example.com": { txt: ["v=DMARC1; p=reject"] },
};

/**
 * The zone: example.org signs with `sel` (RSA) and `ed` (Ed25519), lets
 * 127.0.0.0/8 send, and asks p=reject with relaxed alignment; strict.example
 * asks strict alignment; quarantine.example p=quarantine; spf-fail.example
 * allows only 192.0.2.0/24; sealer.example seals ARC sets with `arc`.
 */
export function mailAuthZone(): FakeZone {
  return {
    "sel._domainkey.example.org": { txt: [keyRecord("rsa", KEYS.rsa)] },
    "ed._domainkey.example.org": { txt: [keyRecord("ed25519", KEYS.ed25519)] },
    "example.org": { txt: ["v=spf1 ip4:127.0.0.0/8 -all"] },
    "_dmarc.example.org": { txt: ["v=DMARC1; p=reject"] },
    "sel._domainkey.strict.example": { txt: [keyRecord("rsa", KEYS.rsa)] },
    "strict.example": { txt: ["v=spf1 ip4:127.0.0.0/8 -all"] },
    "_dmarc.strict.example": { txt: ["v=DMARC1; p=reject; adkim=s; aspf=s"] },
    "quarantine.example": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"] },
    "_dmarc.quarantine.example": { txt: ["v=DMARC1; p=quarantine"] },
    "spf-fail.example": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"] },
    "arc._domainkey.sealer.example": { txt: [keyRecord("rsa", KEYS.arc)] },
    ...RFC8463_ZONE,
  };
}

/** The RFC 8463 Appendix A.3 message, CRLF line ends, both signatures on top. */
export function rfc8463Message(): string {
  const path = new URL("../fixtures/dkim/rfc8463_a3.eml", import.meta.url);
  return Deno.readTextFileSync(path).replace(/\r?\n/g, "\r\n");
}

interface MailauthSigning {
  dkimSign(
    message: string,
    options: {
      canonicalization: string;
      signatureData: { signingDomain: string; selector: string; privateKey: string }[];
    },
  ): Promise<{ signatures: string }>;
  sealMessage(
    message: string,
    seal: {
      signingDomain: string;
      selector: string;
      privateKey: string;
      authResults: string;
      cv: string;
    },
  ): Promise<Buffer>;
}

async function mailauth(): Promise<MailauthSigning> {
  return (await import("mailauth")) as unknown as MailauthSigning;
}

/** `message` (CRLF) with a DKIM-Signature of d=`domain` s=`selector` on top. */
export async function dkimSigned(
  message: string,
  domain = "example.org",
  selector = "sel",
  key: TestKey = KEYS.rsa,
  canonicalization = "relaxed/relaxed",
): Promise<string> {
  const { dkimSign } = await mailauth();
  const signed = await dkimSign(message, {
    canonicalization,
    signatureData: [{ signingDomain: domain, selector, privateKey: key.privateKey }],
  });
  return signed.signatures + message;
}

/**
 * `message` (CRLF) with an ARC set (RFC 8617) sealed by sealer.example, as a
 * mailing list would add it after its own checks (`authResults`).
 */
export async function arcSealed(message: string, authResults: string): Promise<string> {
  const { sealMessage } = await mailauth();
  const seal = await sealMessage(message, {
    signingDomain: "sealer.example",
    selector: "arc",
    privateKey: KEYS.arc.privateKey,
    authResults,
    cv: "none",
  });
  return seal.toString("binary") + message;
}

/** CRLF to LF: a message as the DATA byte machine hands it to the scans and the queue. */
export function lfForm(message: string): Uint8Array {
  const text = message.replace(/\r\n/g, "\n");
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
