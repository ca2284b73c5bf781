import type { Lookup } from "./filter.ts";
import { assertEquals } from "../../tests/assert.ts";
import { buildRoutingTable } from "../send/routing.ts";
import {
  findRecipient,
  recipientKeys,
  recipientsCheck,
  type RecipientsSettings,
  REPLY_NOT_LISTED,
} from "./recipients.ts";
import { rcptRequest } from "./test_request.ts";

/** The lookup the resumed check asked for (its resume() is told which). */
const LOOKUP: Lookup = { kind: "recipient", address: "a@b.test" };

const routing = buildRoutingTable({
  envnoathost: "mx.example.test",
  locals: ["mx.example.test"],
  percenthack: [],
  virtualdomains: [],
});

const cdb = (file: string, keys: string[]) => ({ file, line: 1, keys: new Set(keys) });

const settings: RecipientsSettings = {
  mode: 2,
  tables: [
    cdb("users/recipients.cdb", [":joe@example.test", ":list-@example.test", ":root@localhost"]),
    cdb("etc/fastforward.cdb", [":!@open.test"]),
  ],
  routing,
  delaySeconds: 3,
  source: "control/recipientchk",
};

Deno.test("recipients: the keys a lookup tries, fastforward's form first", () => {
  assertEquals(recipientKeys("List-Bounce-7@Example.TEST"), [
    ":!@example.test",
    "!@example.test",
    ":list-bounce-7@example.test",
    ":list-bounce-@example.test",
    ":list-@example.test",
  ]);
  assertEquals(recipientKeys("root"), [":!@localhost", "!@localhost", ":root@localhost"]);
});

Deno.test("recipients: addresses, extensions, whole domains and @localhost are found", () => {
  assertEquals(findRecipient("JOE@example.test", settings.tables)?.key, ":joe@example.test");
  assertEquals(findRecipient("list-x-7@example.test", settings.tables)?.key, ":list-@example.test");
  assertEquals(findRecipient("any@open.test", settings.tables)?.table.file, "etc/fastforward.cdb");
  assertEquals(findRecipient("root", settings.tables)?.key, ":root@localhost");
  assertEquals(findRecipient("jane@example.test", settings.tables), undefined);
  assertEquals(findRecipient("joe-x@example.test", settings.tables), undefined);
});

Deno.test("recipients: an unlisted recipient is refused after recipientchkdelay", () => {
  assertEquals(recipientsCheck.check(rcptRequest("joe@example.test"), settings).kind, "pass");
  assertEquals(recipientsCheck.check(rcptRequest("jane@example.test"), settings), {
    kind: "refuse",
    reply: [REPLY_NOT_LISTED],
    rule: { check: "recipients", source: "control/recipientchk", entry: "jane@example.test" },
    tarpitSeconds: 3,
  });
  // Clients that relay are not checked.
  const relaying = rcptRequest("jane@example.test", { relaying: true });
  assertEquals(recipientsCheck.check(relaying, settings).kind, "pass");
});

Deno.test("recipients: mode 1 asks local delivery for addresses delivered here", () => {
  const mode1: RecipientsSettings = { ...settings, mode: 1, source: "RECIPIENTCHK" };
  assertEquals(recipientsCheck.check(rcptRequest("x@elsewhere.test"), mode1).kind, "pass");
  const request = rcptRequest("x@mx.example.test");
  assertEquals(recipientsCheck.check(request, mode1), {
    kind: "lookup",
    lookup: { kind: "recipient", address: "x@mx.example.test" },
  });
  const no = recipientsCheck.resume!(
    request,
    mode1,
    { kind: "recipient", deliverable: false },
    LOOKUP,
  );
  assertEquals(no.kind === "refuse" && [no.reply, no.tarpitSeconds, no.rule.source], [
    [REPLY_NOT_LISTED],
    3,
    "RECIPIENTCHK",
  ]);
  const temp = recipientsCheck.resume!(
    request,
    mode1,
    { kind: "temporary", reason: "timeout" },
    LOOKUP,
  );
  assertEquals(temp.kind === "refuse" && temp.reply[0].slice(0, 3), "451");
});
