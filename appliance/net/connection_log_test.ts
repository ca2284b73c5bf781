import { assertEquals } from "../../tests/assert.ts";
import { setLogSink } from "../log.ts";
import { connectionLog } from "./connection_log.ts";

function capture(run: () => void): string[] {
  const lines: string[] = [];
  setLogSink((record) => lines.push(record.text), "smtpd");
  try {
    run();
  } finally {
    setLogSink(() => {}, "test");
  }
  return lines;
}

const SOCKET = {
  remoteAddress: "::ffff:192.0.2.7",
  remotePort: 51689,
  localAddress: "::ffff:198.51.100.1",
  localPort: 25,
};

Deno.test("connection log: qmd's lines; with log/tcpserver also tcpserver -v's, in its order", () => {
  let open = 1;
  const controls = { me: "mx.example.test", concurrencyIncoming: 20, log: { tcpserver: true } };
  const lines = capture(() => {
    const log = connectionLog(SOCKET, "1.4", controls, () => open);
    log.connected("smtp", undefined);
    open = 0;
    log.closed();
  });
  assertEquals(lines, [
    "tcpserver: status: 1/20",
    "tcpserver: pid 1.4 from 192.0.2.7",
    "tcpserver: ok 1.4 mx.example.test:198.51.100.1:25 :192.0.2.7::51689",
    "smtpd 1.4: connect 192.0.2.7 smtp",
    "smtpd 1.4: close",
    "tcpserver: end 1.4 status 0",
    "tcpserver: status: 0/20",
  ]);
  const denied = capture(() =>
    connectionLog(SOCKET, "1.5", controls, () => 0).denied("192.0.2.:deny")
  );
  assertEquals(denied, [
    "smtpd 1.5: deny 192.0.2.7 (tcp.smtp 192.0.2.:deny)",
    "tcpserver: deny 1.5 mx.example.test:198.51.100.1:25 :192.0.2.7::51689",
  ]);
  const quiet = capture(() => {
    const log = connectionLog(SOCKET, "1.6", { ...controls, log: { tcpserver: false } }, () => 1);
    log.connected("submission", "client.example");
    log.limited("per-ip");
    log.closed();
  });
  assertEquals(quiet, [
    "smtpd 1.6: connect 192.0.2.7 submission",
    "smtpd 1.6: per-ip limit reached for 192.0.2.7",
    "smtpd 1.6: close",
  ]);
});
