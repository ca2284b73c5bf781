import { assert, assertEquals } from "../../tests/assert.ts";
import { buildRoutingTable } from "../send/routing.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { injectMessage } from "./qmail_queue.ts";
import type { QueueLayout } from "./layout.ts";
import { preprocessMessage } from "./preprocess.ts";
import { makeTestQueue } from "./test_queue.ts";
import {
  appendBounce,
  checkMessageDone,
  finishMessage,
  markDone,
  readChannelFile,
  removeMessage,
  setChannelRetryTime,
} from "./transitions.ts";

const b = (text: string) => stringToBytes(text);
const read = (path: string) => bytesToString(Deno.readFileSync(path));
const NOW = 1_709_622_489; // 5 Mar 2024 07:08:09 UTC
const DATE = new Date(NOW * 1000);

const table = buildRoutingTable({
  envnoathost: "mx.example.com",
  locals: ["mx.example.com"],
  percenthack: [],
  virtualdomains: ["nowhere.mil:joe-foo"],
});

async function withQueue(
  run: (layout: QueueLayout) => Promise<void> | void,
  options: { todoSplit?: boolean } = {},
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-transitions-" });
  try {
    await run(makeTestQueue(home, options));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function queue(
  layout: QueueLayout,
  sender: string,
  recipients: string[],
  body = "Subject: t\n\nx\n",
) {
  return injectMessage(layout, b(body), b(sender), recipients.map(b), {
    pid: 4242,
    who: "by uid 1000",
    now: DATE,
  });
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("markDone writes one D at the record's offset", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", ["x@mx.example.com", "y@mx.example.com"]);
    preprocessMessage(layout, id, table, NOW);
    const pass = readChannelFile(layout, "local", id);
    assertEquals(pass.records.map((record) => record.offset), [0, 18]);
    assertEquals(pass.corrupt, false);
    assert(markDone(layout.local(id), pass.records[1].offset));
    assertEquals(read(layout.local(id)), "Tx@mx.example.com\0Dy@mx.example.com\0");
    assertEquals(markDone(`${layout.root}/local/0/999999`, 0), false);
  }));

Deno.test("readChannelFile tells a trailing fragment from an unknown record", () =>
  withQueue((layout) => {
    const id = 5n;
    Deno.writeFileSync(layout.local(id), b("Ta@b\0Tpart"));
    assertEquals(readChannelFile(layout, "local", id).corrupt, false);
    Deno.writeFileSync(layout.local(id), b("Ta@b\0Xbad\0Tc@d\0"));
    const corrupt = readChannelFile(layout, "local", id);
    assertEquals(corrupt.corrupt, true);
    assertEquals(corrupt.records.length, 1);
  }));

Deno.test("appendBounce appends paragraphs to a 0600 bounce file", () =>
  withQueue((layout) => {
    appendBounce(layout, 7n, b("<a@b>:\none\n\n"));
    appendBounce(layout, 7n, b("<c@d>:\ntwo\n\n"));
    assertEquals(read(layout.bounce(7n)), "<a@b>:\none\n\n<c@d>:\ntwo\n\n");
    assertEquals(Deno.statSync(layout.bounce(7n)).mode! & 0o777, 0o600);
  }));

Deno.test("setChannelRetryTime sets mtime and atime", () =>
  withQueue((layout) => {
    const path = layout.local(3n);
    Deno.writeFileSync(path, b("Ta@b\0"));
    assert(setChannelRetryTime(path, NOW + 400));
    const stat = Deno.statSync(path);
    assertEquals(stat.mtime!.getTime(), (NOW + 400) * 1000);
    assertEquals(stat.atime!.getTime(), (NOW + 400) * 1000);
    assertEquals(setChannelRetryTime(layout.local(4n), NOW), false);
  }));

Deno.test("finishMessage removes info, intd and mess; removeMessage is qmail-clean's foop", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", []);
    assertEquals(checkMessageDone(layout, id), "not-done");
    preprocessMessage(layout, id, table, NOW);
    finishMessage(layout, id);
    for (const path of [layout.info(id), layout.intd(id), layout.mess(id), layout.todo(id)]) {
      assertEquals(exists(path), false, path);
    }
    assertEquals(checkMessageDone(layout, id), "gone");
    const second = await queue(layout, "a@b", ["x@y"]);
    Deno.removeSync(layout.todo(second.id));
    removeMessage(layout, second.id);
    assertEquals(exists(layout.intd(second.id)), false);
    assertEquals(exists(layout.mess(second.id)), false);
  }));
