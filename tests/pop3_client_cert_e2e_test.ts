/**
 * control/pop3clientcert (qmd's switch for seed 003's POP3 behind stunnel with
 * client certificates, docs/patches.md): `qmd start` with its POP3 and POP3S
 * listeners, certificates made with @peculiar/x509 (appliance/tls/self_signed.ts)
 * and node:tls as the independent client. With the switch on, POP3S and STLS
 * go on only with a certificate that clientca.pem and tlsclients accept, and
 * no login is taken before TLS.
 */
import net from "node:net";
import tls from "node:tls";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { addUser, makeInitedHome, startQmd, waitFor } from "./harness.ts";
import { createCertificate, type CreatedCertificate } from "../appliance/tls/self_signed.ts";

const PASSWORD = "correct horse";

/** A raw POP3 conversation on a socket (plain or TLS). */
function conversation(socket: net.Socket | tls.TLSSocket) {
  let text = "";
  let closed = false;
  socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  socket.on("error", () => {});
  socket.on("close", () => closed = true);
  return {
    text: () => text,
    reset: () => (text = ""),
    until: (pattern: RegExp) =>
      waitFor(() => pattern.test(text) ? true : undefined, 20_000, () => JSON.stringify(text)),
    closed: () => waitFor(() => closed || undefined, 20_000, () => JSON.stringify(text)),
    send: (line: string) => socket.write(line + "\r\n"),
  };
}

function tlsConnect(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  const socket = tls.connect({ servername: "mx.example.test", ...options });
  return new Promise((resolve, reject) => {
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
}

function credentials(certificate: CreatedCertificate | undefined): tls.ConnectionOptions {
  return certificate === undefined ? {} : { key: certificate.keyPem, cert: certificate.certPem };
}

Deno.test("pop3: with pop3clientcert, POP3S and STLS need a client certificate clientca.pem and tlsclients accept", async () => {
  const ca = await createCertificate({ commonName: "POP3 client CA", usage: "ca" });
  const alice = await createCertificate({
    commonName: "alice",
    emailAddress: "joe@example.test",
    usage: "client",
    issuer: ca,
  });
  // Signed by the CA, but its address is not in tlsclients.
  const mallory = await createCertificate({
    commonName: "mallory",
    emailAddress: "mallory@example.test",
    usage: "client",
    issuer: ca,
  });
  // The listed address, but not from the CA.
  const forged = await createCertificate({
    commonName: "alice",
    emailAddress: "joe@example.test",
    usage: "client",
  });
  const home = await makeInitedHome({
    pop3clientcert: "1",
    tlsclients: "joe@example.test",
  });
  Deno.writeTextFileSync(`${home}/control/clientca.pem`, ca.certPem);
  await addUser(home, "joe@example.test", PASSWORD);
  Deno.mkdirSync(`${home}/mail/example.test/joe/Maildir/new`, { recursive: true });
  const serverCa = Deno.readTextFileSync(`${home}/control/servercert.pem`);
  const qmd = await startQmd(home);
  try {
    // POP3S with the good certificate: greeting, login, mailbox.
    const good = await tlsConnect({
      host: "127.0.0.1",
      port: qmd.pop3sPort,
      ca: serverCa,
      ...credentials(alice),
    });
    const talk = conversation(good);
    await talk.until(/^\+OK .*\r\n/);
    talk.send("USER joe@example.test");
    await talk.until(/\r\n.*\r\n/s);
    talk.send(`PASS ${PASSWORD}`);
    await talk.until(/\r\n.*\r\n.*\r\n/s);
    assertMatch(talk.text(), /^\+OK .*\r\n\+OK .*\r\n\+OK/s);
    talk.send("QUIT");
    await talk.closed();

    // POP3S without a certificate, with an unlisted one, with a forged one: refused, closed.
    for (const certificate of [undefined, mallory, forged]) {
      const socket = await tlsConnect({
        host: "127.0.0.1",
        port: qmd.pop3sPort,
        ca: serverCa,
        ...credentials(certificate),
      });
      const refused = conversation(socket);
      await refused.closed();
      assertEquals(refused.text(), "-ERR [AUTH] no valid client certificate\r\n");
    }

    // Port 110: no login before TLS; STLS with the good certificate takes one.
    const plain = net.connect({ host: "127.0.0.1", port: qmd.pop3Port });
    const before = conversation(plain);
    await before.until(/^\+OK .*\r\n/);
    before.reset();
    before.send("CAPA");
    await before.until(/\r\n\.\r\n/);
    assert(!/^(USER|SASL)/m.test(before.text()), before.text());
    assertStringIncludes(before.text(), "STLS\r\n");
    before.reset();
    before.send("USER joe@example.test");
    await before.until(/\r\n/);
    assertEquals(before.text(), "-ERR [AUTH] logins need TLS with a client certificate here\r\n");
    before.reset();
    before.send("STLS");
    await before.until(/^\+OK.*\r\n$/);
    plain.removeAllListeners("data");
    const upgraded = tls.connect({
      socket: plain,
      ca: serverCa,
      servername: "mx.example.test",
      ...credentials(alice),
    });
    const inside = conversation(upgraded);
    inside.send("USER joe@example.test");
    await inside.until(/\r\n/);
    inside.send(`PASS ${PASSWORD}`);
    await inside.until(/\r\n.*\r\n/s);
    assertMatch(inside.text(), /^\+OK .*\r\n\+OK/s);
    upgraded.destroy();

    // STLS without a certificate: the session ends after the handshake.
    const bare = net.connect({ host: "127.0.0.1", port: qmd.pop3Port });
    const second = conversation(bare);
    await second.until(/^\+OK .*\r\n/);
    second.send("STLS");
    await second.until(/\r\n\+OK.*\r\n$/);
    bare.removeAllListeners("data");
    const noCert = tls.connect({ socket: bare, ca: serverCa, servername: "mx.example.test" });
    const refused = conversation(noCert);
    await refused.closed();
    assertEquals(refused.text(), "-ERR [AUTH] no valid client certificate\r\n");

    const log = await waitFor(
      () =>
        /no valid client certificate: .*not in my list of tlsclients/.test(qmd.output())
          ? qmd.output()
          : undefined,
      10_000,
      () => qmd.output(),
    );
    assertStringIncludes(log, "client certificate joe@example.test");
  } finally {
    await qmd.stop();
  }
});
