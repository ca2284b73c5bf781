import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestConsole } from "./test_console.ts";
import type { LogRecord } from "../log.ts";

function record(text: string, fields: LogRecord["fields"]): LogRecord {
  return { time: Date.now(), role: "smtpd", event: "smtp_reject", text, fields };
}

/** Reads server-sent events until `count` data lines came; returns their JSON. */
async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<LogRecord[]> {
  const decoder = new TextDecoder();
  let text = "";
  const events = () => text.split("\n").filter((line) => line.startsWith("data: "));
  for (let reads = 0; reads < 100 && events().length < count; reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return events().map((line) => JSON.parse(line.slice(6)));
}

Deno.test("live log: server-sent events, the recent records first, then new ones, filtered by session", async () => {
  const console = await makeTestConsole();
  try {
    const session = await console.login();
    console.context.log.add([
      record("smtpd 1.1: reject: RCPT from 192.0.2.1", { session: "1.1" }),
      record("smtpd 1.2: reject: MAIL from 192.0.2.2", { session: "1.2" }),
    ]);
    const response = await console.request("/api/log/stream?session=1.2", {
      cookie: session.cookie,
    });
    assertEquals(response.status, 200);
    assertStringIncludes(response.headers.get("content-type") ?? "", "text/event-stream");
    const reader = response.body!.getReader();
    try {
      assertEquals((await readEvents(reader, 1)).map((each) => each.fields.session), ["1.2"]);
      console.context.log.add([
        record("smtpd 1.1: another", { session: "1.1" }),
        record("smtpd 1.2: close", { session: "1.2" }),
      ]);
      const next = await readEvents(reader, 1);
      assertEquals(next.map((each) => each.text), ["smtpd 1.2: close"]);
    } finally {
      await reader.cancel();
    }
    const recent = await (await console.request("/api/log?check=MAIL", {
      cookie: session.cookie,
    })).json();
    assertEquals(recent.map((each: LogRecord) => each.fields.session), ["1.2"]);
  } finally {
    await console.close();
  }
});

Deno.test("live log: closing the hub (drain) ends every stream", async () => {
  const console = await makeTestConsole();
  try {
    const session = await console.login();
    console.context.log.add([record("smtpd 1.1: connect", { session: "1.1" })]);
    const response = await console.request("/api/log/stream", { cookie: session.cookie });
    const reader = response.body!.getReader();
    assertEquals((await readEvents(reader, 1)).length, 1);
    console.context.log.close();
    let done = false;
    for (let reads = 0; reads < 20 && !done; reads++) done = (await reader.read()).done;
    assert(done, "the stream did not end");
  } finally {
    await console.close();
  }
});
