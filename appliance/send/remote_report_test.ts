import { assertEquals } from "../../tests/assert.ts";
import {
  encodeRemoteOutput,
  formatRemoteHostSaid,
  formatRemoteReport,
  formatRemoteSpawnFailure,
  hostNotFoundRecord,
  MAX_SMTP_TEXT,
  parseRemoteOutput,
  REMOTE_TEXTS,
} from "./remote_report.ts";

Deno.test("formatRemoteReport: §5.7's three examples", () => {
  assertEquals(
    formatRemoteReport([
      { kind: "r", text: "" },
      {
        kind: "K",
        text: "1.2.3.4 accepted message.\nRemote host said: 250 ok 1700000000 qp 999\n",
      },
    ]),
    {
      status: "K",
      text: "1.2.3.4 accepted message.\nRemote host said: 250 ok 1700000000 qp 999\n",
    },
  );
  assertEquals(
    formatRemoteReport([
      { kind: "h", text: "1.2.3.4 does not like recipient.\nRemote host said: 550 no such user\n" },
      { kind: "D", text: "Giving up on 1.2.3.4.\n" },
    ]),
    {
      status: "D",
      text: "1.2.3.4 does not like recipient.\nRemote host said: 550 no such user\n" +
        "Giving up on 1.2.3.4.\n",
    },
  );
  assertEquals(formatRemoteReport([REMOTE_TEXTS.dnsTemporary]), {
    status: "Z",
    text: "Sorry, I couldn't find any host by that name. (#4.1.2)\n",
  });
});

Deno.test("formatRemoteReport: an s recipient is temporary; K after r is not appended twice", () => {
  assertEquals(
    formatRemoteReport([
      { kind: "s", text: "1.2.3.4 does not like recipient.\nRemote host said: 451 later\n" },
      { kind: "D", text: "Giving up on 1.2.3.4.\n" },
    ]),
    {
      status: "Z",
      text: "1.2.3.4 does not like recipient.\nRemote host said: 451 later\n",
    },
  );
  // r then Z (connection died after the recipient): Z with both texts.
  assertEquals(
    formatRemoteReport([
      { kind: "r", text: "" },
      { kind: "Z", text: "Connected to 1.2.3.4 but connection died. (#4.4.2)\n" },
    ]),
    { status: "Z", text: "Connected to 1.2.3.4 but connection died. (#4.4.2)\n" },
  );
  // Only recipient records: no message record counts as D.
  assertEquals(formatRemoteReport([{ kind: "r", text: "" }]), { status: "D", text: "" });
  assertEquals(formatRemoteReport([]), {
    status: "Z",
    text: "qmail-remote produced no output.\n",
  });
});

Deno.test("formatRemoteHostSaid: CR removed, NUL → ?, 5000-byte cap", () => {
  assertEquals(formatRemoteHostSaid([]), "");
  assertEquals(
    formatRemoteHostSaid(["550-first\r", "550 sec\0ond"]),
    "Remote host said: 550-first\n550 sec?ond\n",
  );
  const long = formatRemoteHostSaid(["550 " + "x".repeat(6000)]);
  assertEquals(long.length, "Remote host said: ".length + MAX_SMTP_TEXT);
  const wide = formatRemoteHostSaid(["55 " + "é".repeat(3000)]);
  assertEquals(new TextEncoder().encode(wide).length, "Remote host said: ".length + 4999);
});

Deno.test("qmail-remote wire form round-trips; rspawn failures", () => {
  const records = [
    { kind: "h" as const, text: "x does not like recipient.\n" },
    { kind: "D" as const, text: "Giving up on x.\n" },
  ];
  const wire = encodeRemoteOutput(records);
  assertEquals(wire, "hx does not like recipient.\n\0DGiving up on x.\n\0");
  assertEquals(parseRemoteOutput(wire + "Kpartial"), records);
  assertEquals(formatRemoteSpawnFailure({ crashed: true }), {
    status: "Z",
    text: "qmail-remote crashed.\n",
  });
  assertEquals(formatRemoteSpawnFailure({ exitCode: 111 }).status, "Z");
  assertEquals(formatRemoteSpawnFailure({ exitCode: 100 }), {
    status: "D",
    text: "Unable to run qmail-remote.\n",
  });
  assertEquals(hostNotFoundRecord("nx.example"), {
    kind: "D",
    text: "Sorry, I couldn't find any host named nx.example. (#5.1.2)\n",
  });
});
