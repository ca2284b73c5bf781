import { assert, assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { preprocessMessage } from "./preprocess.ts";
import {
  injectTestMessage,
  pathExists,
  TEST_NOW,
  testRoutingTable,
  withTestQueue,
} from "./test_queue.ts";
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

Deno.test("markDone writes one D at the record's offset", () =>
  withTestQueue(async (layout) => {
    const { id } = await injectTestMessage(layout, "a@b", ["x@mx.example.com", "y@mx.example.com"]);
    preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
    const pass = readChannelFile(layout, "local", id);
    assertEquals(pass.records.map((record) => record.offset), [0, 18]);
    assertEquals(pass.corrupt, false);
    assert(markDone(layout.local(id), pass.records[1].offset));
    assertEquals(read(layout.local(id)), "Tx@mx.example.com\0Dy@mx.example.com\0");
    assertEquals(markDone(`${layout.root}/local/0/999999`, 0), false);
  }));

Deno.test("readChannelFile tells a trailing fragment from an unknown record", () =>
  withTestQueue((layout) => {
    const id = 5n;
    Deno.writeFileSync(layout.local(id), b("Ta@b\0Tpart"));
    assertEquals(readChannelFile(layout, "local", id).corrupt, false);
    Deno.writeFileSync(layout.local(id), b("Ta@b\0Xbad\0Tc@d\0"));
    const corrupt = readChannelFile(layout, "local", id);
    assertEquals(corrupt.corrupt, true);
    assertEquals(corrupt.records.length, 1);
  }));

Deno.test("appendBounce appends paragraphs to a 0600 bounce file", () =>
  withTestQueue((layout) => {
    appendBounce(layout, 7n, b("<a@b>:\none\n\n"));
    appendBounce(layout, 7n, b("<c@d>:\ntwo\n\n"));
    assertEquals(read(layout.bounce(7n)), "<a@b>:\none\n\n<c@d>:\ntwo\n\n");
    assertEquals(Deno.statSync(layout.bounce(7n)).mode! & 0o777, 0o600);
  }));

Deno.test("setChannelRetryTime sets mtime and atime", () =>
  withTestQueue((layout) => {
    const path = layout.local(3n);
    Deno.writeFileSync(path, b("Ta@b\0"));
    assert(setChannelRetryTime(path, TEST_NOW + 400));
    const stat = Deno.statSync(path);
    assertEquals(stat.mtime!.getTime(), (TEST_NOW + 400) * 1000);
    assertEquals(stat.atime!.getTime(), (TEST_NOW + 400) * 1000);
    assertEquals(setChannelRetryTime(layout.local(4n), TEST_NOW), false);
  }));

Deno.test("finishMessage removes info, intd and mess; removeMessage is qmail-clean's foop", () =>
  withTestQueue(async (layout) => {
    const { id } = await injectTestMessage(layout, "a@b", []);
    assertEquals(checkMessageDone(layout, id), "not-done");
    preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
    await finishMessage(layout, id);
    for (const path of [layout.info(id), layout.intd(id), layout.mess(id), layout.todo(id)]) {
      assertEquals(pathExists(path), false, path);
    }
    assertEquals(checkMessageDone(layout, id), "gone");
    const second = await injectTestMessage(layout, "a@b", ["x@y"]);
    Deno.removeSync(layout.todo(second.id));
    removeMessage(layout, second.id);
    assertEquals(pathExists(layout.intd(second.id)), false);
    assertEquals(pathExists(layout.mess(second.id)), false);
  }));
