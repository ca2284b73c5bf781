import { assert, assertEquals } from "../../tests/assert.ts";
import { buildRoutingTable } from "../send/routing.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { injectMessage } from "./qmail_queue.ts";
import type { QueueLayout } from "./layout.ts";
import { preprocessMessage, preprocessMessages } from "./preprocess.ts";
import { makeTestQueue } from "./test_queue.ts";
import { checkMessageDone, readMessageInfo } from "./transitions.ts";

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
  const home = await Deno.makeTempDir({ prefix: "qmd-preprocess-" });
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

for (const todoSplit of [true, false]) {
  Deno.test(`preprocessMessage writes info, local and remote and removes todo (todoSplit ${todoSplit})`, () =>
    withQueue(async (layout) => {
      const { id } = await queue(layout, "joe@a.org", [
        "bob@MX.example.com",
        "far@remote.org",
        "info@nowhere.mil",
        "noat",
      ]);
      const result = preprocessMessage(layout, id, table, NOW);
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
      assertEquals(exists(layout.todo(id)), false);
      assertEquals(exists(layout.intd(id)), false);
      assert(exists(layout.mess(id)));
      for (const path of [layout.info(id), layout.local(id), layout.remote(id)]) {
        const stat = Deno.statSync(path);
        assertEquals(stat.mode! & 0o777, 0o600);
        assertEquals(stat.mtime!.getTime(), NOW * 1000);
      }
      assertEquals(readMessageInfo(layout, id), { sender: b("joe@a.org"), birth: NOW });
    }, { todoSplit }));
}

Deno.test("preprocessMessage is idempotent over stale info/local/remote after a crash", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "", ["bob@mx.example.com"]);
    Deno.writeFileSync(layout.info(id), b("Fstale\0"));
    Deno.writeFileSync(layout.local(id), b("Dold@mx.example.com\0Tpartial"));
    Deno.writeFileSync(layout.remote(id), b("Twrong@remote.org\0"));
    const result = preprocessMessage(layout, id, table, NOW);
    assert(result.ok);
    assertEquals([result.local, result.remote], [true, false]);
    assertEquals(read(layout.info(id)), "F\0");
    assertEquals(read(layout.local(id)), "Tbob@mx.example.com\0");
    assertEquals(exists(layout.remote(id)), false);
  }));

Deno.test("preprocessMessage with no recipients writes info only", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", []);
    const result = preprocessMessage(layout, id, table, NOW);
    assert(result.ok);
    assertEquals([result.local, result.remote], [false, false]);
    assertEquals(read(layout.info(id)), "Fa@b\0");
    assertEquals(checkMessageDone(layout, id), "done");
  }));

Deno.test("preprocessMessage leaves the todo file on an unknown record or a missing mess", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", ["x@mx.example.com"]);
    Deno.writeFileSync(layout.todo(id), b("u1\0p2\0Fa@b\0Xjunk\0"));
    const unknown = preprocessMessage(layout, id, table, NOW);
    assert(!unknown.ok);
    assertEquals(
      unknown.warning,
      `unknown record type in ${layout.todo(id).slice(layout.root.length + 1)}`,
    );
    assertEquals(unknown.infoCreated, true);
    assert(exists(layout.todo(id)));

    Deno.removeSync(layout.mess(id));
    const missing = preprocessMessage(layout, id, table, NOW);
    assert(!missing.ok);
    assertEquals(missing.warning, `unable to stat mess/${id % 23n}/${id}`);
    assert(exists(layout.todo(id)));
  }));

Deno.test("preprocessMessages gives each message of a batch preprocessMessage's result", () =>
  withQueue(async (layout) => {
    const local = await queue(layout, "a@b", ["x@mx.example.com"]);
    const remote = await queue(layout, "c@d", ["far@remote.org"]);
    const broken = await queue(layout, "e@f", ["y@mx.example.com"]);
    Deno.removeSync(layout.mess(broken.id));
    const results = await preprocessMessages(layout, [local.id, remote.id, broken.id], table, NOW);
    assertEquals(results.map((result) => result.ok), [true, true, false]);
    assert(results[0].ok && results[1].ok);
    assertEquals([results[0].local, results[0].remote], [true, false]);
    assertEquals([results[1].local, results[1].remote], [false, true]);
    assertEquals(read(layout.local(local.id)), "Tx@mx.example.com\0");
    assertEquals(read(layout.remote(remote.id)), "Tfar@remote.org\0");
    for (const id of [local.id, remote.id]) {
      assertEquals(exists(layout.todo(id)), false);
      assertEquals(readMessageInfo(layout, id)?.birth, NOW);
    }
    assert(!results[2].ok);
    assertEquals(results[2].warning, `unable to stat mess/${broken.id % 23n}/${broken.id}`);
    assert(exists(layout.todo(broken.id)), "a failed message stays in todo/");
  }));
