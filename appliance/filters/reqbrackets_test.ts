import { assertEquals } from "../../tests/assert.ts";
import { type FilterRequest, PASS } from "./filter.ts";
import { REPLY_BRACKETS_REQUIRED, reqbracketsCheck } from "./reqbrackets.ts";

function request(phase: "mail" | "rcpt", argument?: string): FilterRequest {
  return {
    phase,
    remoteIp: "192.0.2.1",
    env: {},
    relaying: false,
    tls: false,
    recipients: [],
    now: 0,
    ...(argument === undefined ? {} : { argument }),
  };
}

const SETTINGS = { source: "control/reqbrackets" };

Deno.test("reqbrackets: MAIL and RCPT without <> are refused, with them they pass", () => {
  assertEquals(reqbracketsCheck.check(request("mail", "FROM:<a@example.org>"), SETTINGS), PASS);
  assertEquals(reqbracketsCheck.check(request("mail", "FROM:<>"), SETTINGS), PASS);
  assertEquals(reqbracketsCheck.check(request("rcpt", "TO: <b@example.net>"), SETTINGS), PASS);
  assertEquals(reqbracketsCheck.check(request("mail", "FROM: a@example.org"), SETTINGS), {
    kind: "refuse",
    reply: [REPLY_BRACKETS_REQUIRED],
    rule: { check: "reqbrackets", source: "control/reqbrackets", entry: "FROM: a@example.org" },
  });
  assertEquals(
    reqbracketsCheck.check(request("rcpt", "TO:b@example.net"), SETTINGS).kind,
    "refuse",
  );
});

Deno.test("reqbrackets: a request without the argument is not judged", () => {
  assertEquals(reqbracketsCheck.check(request("mail"), SETTINGS), PASS);
});
