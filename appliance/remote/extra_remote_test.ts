import { assertEquals } from "../../tests/assert.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { runExtraRemote } from "./extra_remote.ts";

async function withWrapper(
  script: string | undefined,
  body: (home: string, run: () => ReturnType<typeof runExtraRemote>) => Promise<void>,
  recipient = "c@d.test",
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-extra-remote-" });
  try {
    const layout = makeTestQueue(home);
    Deno.mkdirSync(`${home}/queue/mess/0`, { recursive: true });
    Deno.writeTextFileSync(`${home}/queue/mess/0/23`, "Subject: x\n\nbody\n");
    Deno.mkdirSync(`${home}/bin`);
    if (script !== undefined) {
      Deno.writeTextFileSync(`${home}/bin/qmail-remote.extra`, script);
      Deno.chmodSync(`${home}/bin/qmail-remote.extra`, 0o755);
    }
    const job = { delivery: 3, id: "23", mess: "0/23", sender: "a@b.test", recipient };
    await body(home, () => runExtraRemote(job, home, layout));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("runExtraRemote: the wrapper runs under qmail-start's umask 077 with host, sender, recipient", async () => {
  const script = '#!/bin/sh\numask > umask.seen\necho "$@" > args.seen\ncat > /dev/null\n' +
    "printf 'r1.2.3.4 accepted message.\\n\\0Kdone.\\n\\0'\n";
  await withWrapper(script, async (home, run) => {
    assertEquals(await run(), {
      delivery: 3,
      status: "K",
      text: "1.2.3.4 accepted message.\ndone.\n",
    });
    assertEquals(Deno.readTextFileSync(`${home}/umask.seen`), "0077\n");
    assertEquals(Deno.readTextFileSync(`${home}/args.seen`), "d.test a@b.test c@d.test\n");
  });
});

Deno.test("runExtraRemote: a UTF-8 recipient reaches the wrapper as its own bytes", async () => {
  const script =
    "#!/bin/sh\necho \"$@\" > args.seen\ncat > /dev/null\nprintf 'rok\\n\\0Kdone.\\n\\0'\n";
  const recipient = new TextEncoder().encode("用户@例子.测试");
  await withWrapper(script, async (home, run) => {
    assertEquals((await run()).status, "K");
    assertEquals(Deno.readTextFileSync(`${home}/args.seen`), "例子.测试 a@b.test 用户@例子.测试\n");
  }, String.fromCharCode(...recipient));
});

Deno.test("runExtraRemote: a missing wrapper is a temporary failure", async () => {
  await withWrapper(undefined, async (_, run) => {
    assertEquals(await run(), { delivery: 3, status: "Z", text: "Unable to run qmail-remote.\n" });
  });
});
