import { assert, assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { preprocessMessage, preprocessMessages } from "./preprocess.ts";
import {
  injectTestMessage,
  pathExists,
  TEST_NOW,
  testRoutingTable,
  withTestQueue,
} from "./test_queue.ts";
import { checkMessageDone, markDoneAt, readChannelFile, readMessageInfo } from "./transitions.ts";

const b = (text: string) => stringToBytes(text);
const read = (path: string) => bytesToString(Deno.readFileSync(path));

for (const todoSplit of [true, false]) {
  Deno.test(`preprocessMessage writes info, local and remote and removes todo (todoSplit ${todoSplit})`, () =>
    withTestQueue(async (layout) => {
      const { id } = await injectTestMessage(layout, "joe@a.org", [
        "bob@MX.example.com",
        "far@remote.org",
        "info@nowhere.mil",
        "noat",
      ]);
      const result = preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
      assert(result.ok);
      assertEquals([result.local, result.remote], [true, true]);
      assertEquals(result.bytes, Deno.statSync(layout.mess(id)).size);
      assertEquals(result.qp, "4242");
      assertEquals(bytesToString(result.sender!), "joe@a.org");
      assertEquals(read(layout.info(id)), "Fjoe@a.org\0");
      assertEquals(
        read(layout.local(id)),
        "Tbob@MX.example.com\0Tjoe-foo-info@nowhere.mil\0Tnoat@mx.example.com\0",
      );
      assertEquals(read(layout.remote(id)), "Tfar@remote.org\0");
      assertEquals(pathExists(layout.todo(id)), false);
      assertEquals(pathExists(layout.intd(id)), false);
      assert(pathExists(layout.mess(id)));
      for (const path of [layout.info(id), layout.local(id), layout.remote(id)]) {
        const stat = Deno.statSync(path);
        assertEquals(stat.mode! & 0o777, 0o600);
        assertEquals(stat.mtime!.getTime(), TEST_NOW * 1000);
      }
      assertEquals(readMessageInfo(layout, id), { sender: b("joe@a.org"), birth: TEST_NOW });
    }, { todoSplit }));
}

Deno.test("preprocessMessage is idempotent over stale info/local/remote after a crash", () =>
  withTestQueue(async (layout) => {
    const { id } = await injectTestMessage(layout, "", ["bob@mx.example.com"]);
    Deno.writeFileSync(layout.info(id), b("Fstale\0"));
    Deno.writeFileSync(layout.local(id), b("Dold@mx.example.com\0Tpartial"));
    Deno.writeFileSync(layout.remote(id), b("Twrong@remote.org\0"));
    const result = preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
    assert(result.ok);
    assertEquals([result.local, result.remote], [true, false]);
    assertEquals(read(layout.info(id)), "F\0");
    assertEquals(read(layout.local(id)), "Tbob@mx.example.com\0");
    assertEquals(pathExists(layout.remote(id)), false);
  }));

Deno.test("preprocessMessage with no recipients writes info only", () =>
  withTestQueue(async (layout) => {
    const { id } = await injectTestMessage(layout, "a@b", []);
    const result = preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
    assert(result.ok);
    assertEquals([result.local, result.remote], [false, false]);
    assertEquals(read(layout.info(id)), "Fa@b\0");
    assertEquals(checkMessageDone(layout, id), "done");
  }));

Deno.test("preprocessMessage leaves the todo file on an unknown record or a missing mess", () =>
  withTestQueue(async (layout) => {
    const { id } = await injectTestMessage(layout, "a@b", ["x@mx.example.com"]);
    Deno.writeFileSync(layout.todo(id), b("u1\0p2\0Fa@b\0Xjunk\0"));
    const unknown = preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
    assert(!unknown.ok);
    assertEquals(
      unknown.warning,
      `unknown record type in ${layout.todo(id).slice(layout.root.length + 1)}`,
    );
    assertEquals(unknown.infoCreated, true);
    assert(pathExists(layout.todo(id)));

    Deno.removeSync(layout.mess(id));
    const missing = preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
    assert(!missing.ok);
    assertEquals(missing.warning, `unable to stat mess/${id % 23n}/${id}`);
    assert(pathExists(layout.todo(id)));
  }));

Deno.test("preprocessMessages gives each message of a batch preprocessMessage's result", () =>
  withTestQueue(async (layout) => {
    const local = await injectTestMessage(layout, "a@b", ["x@mx.example.com"]);
    const remote = await injectTestMessage(layout, "c@d", ["far@remote.org"]);
    const broken = await injectTestMessage(layout, "e@f", ["y@mx.example.com"]);
    Deno.removeSync(layout.mess(broken.id));
    const results = await preprocessMessages(
      layout,
      [local.id, remote.id, broken.id],
      testRoutingTable,
      TEST_NOW,
    );
    assertEquals(results.map((result) => result.ok), [true, true, false]);
    assert(results[0].ok && results[1].ok);
    assertEquals([results[0].local, results[0].remote], [true, false]);
    assertEquals([results[1].local, results[1].remote], [false, true]);
    assertEquals(read(layout.local(local.id)), "Tx@mx.example.com\0");
    assertEquals(read(layout.remote(remote.id)), "Tfar@remote.org\0");
    for (const id of [local.id, remote.id]) {
      assertEquals(pathExists(layout.todo(id)), false);
      assertEquals(readMessageInfo(layout, id)?.birth, TEST_NOW);
    }
    assert(!results[2].ok);
    assertEquals(results[2].warning, `unable to stat mess/${broken.id % 23n}/${broken.id}`);
    assert(pathExists(layout.todo(broken.id)), "a failed message stays in todo/");
  }));

Deno.test("keepChannelFiles: an ok result holds what a pass reads back, its channel files open", () =>
  withTestQueue(async (layout) => {
    const both = await injectTestMessage(layout, "joe@a.org", [
      "bob@mx.example.com",
      "far@remote.org",
      "info@nowhere.mil",
    ]);
    const broken = await injectTestMessage(layout, "e@f", ["y@mx.example.com"]);
    Deno.removeSync(layout.mess(broken.id));
    const results = await preprocessMessages(
      layout,
      [both.id, broken.id],
      testRoutingTable,
      TEST_NOW,
      { keepChannelFiles: true },
    );
    assert(results[0].ok && !results[1].ok);
    const passes = results[0].passes!;
    assertEquals(passes.sender, b("joe@a.org"));
    assertEquals(passes.birth, readMessageInfo(layout, both.id)?.birth);
    for (const channel of ["local", "remote"] as const) {
      const pass = passes.channels[channel]!;
      const { file, ...records } = pass;
      assertEquals(records, readChannelFile(layout, channel, both.id));
      // The handle writes where a pass's mark goes (markDoneAt).
      assert(markDoneAt(file!, pass.records.at(-1)!.offset));
      file!.close();
    }
    assertEquals(read(layout.local(both.id)), "Tbob@mx.example.com\0Djoe-foo-info@nowhere.mil\0");
    assertEquals(read(layout.remote(both.id)), "Dfar@remote.org\0");
  }));
