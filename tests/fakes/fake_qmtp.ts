/**
 * A tiny QMTP server for tests (http://cr.yp.to/proto/qmtp.txt): it listens on
 * a loopback address and a kernel-chosen port, reads one message per
 * connection (three netstrings), records it and answers each recipient.
 * Test only.
 */
import { formatNetstring } from "../../appliance/remote/qmtp_client.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

/** What the server read for one message. */
export interface QmtpReceived {
  message: string;
  sender: string;
  recipients: string[];
}

/**
 * A tiny QMTP server on loopback (qmtp.txt): reads one message (three
 * netstrings), answers `answer(recipient)` per recipient, then closes.
 * `raw` replaces the answers with bytes as given.
 */
export function startQmtpServer(
  host: string,
  answer: (recipient: string) => string,
  raw?: string,
): { port: number; received: QmtpReceived[]; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: host, port: 0 });
  const received: QmtpReceived[] = [];
  const serve = async (conn: Deno.Conn) => {
    let data = "";
    let offset = 0;
    const buffer = new Uint8Array(65536);
    const more = async () => {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("client closed early");
      for (let i = 0; i < n; i++) data += String.fromCharCode(buffer[i]);
    };
    const netstring = async (): Promise<string> => {
      for (let i = 0; i < 10000 && data.indexOf(":", offset) < 0; i++) await more();
      const colon = data.indexOf(":", offset);
      const length = Number(data.slice(offset, colon));
      for (let i = 0; i < 100000 && data.length <= colon + length + 1; i++) await more();
      if (data[colon + 1 + length] !== ",") throw new Error("bad netstring");
      offset = colon + 2 + length;
      return data.slice(colon + 1, colon + 1 + length);
    };
    try {
      const message = await netstring();
      const sender = await netstring();
      const list = await netstring();
      const recipients: string[] = [];
      for (let rest = list; rest !== "";) {
        const colon = rest.indexOf(":");
        const length = Number(rest.slice(0, colon));
        recipients.push(rest.slice(colon + 1, colon + 1 + length));
        rest = rest.slice(colon + 2 + length);
      }
      received.push({ message, sender, recipients });
      const reply = raw ?? recipients.map((r) => formatNetstring(answer(r))).join("");
      await conn.write(bytes(reply));
    } catch {
      // The client went away.
    } finally {
      conn.close();
    }
  };
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) served.push(serve(conn));
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(served);
    },
  };
}
