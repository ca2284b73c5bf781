import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { initHome } from "../home/init_home.ts";
import { QueueLayout } from "../queue/layout.ts";
import { bytesToString } from "../bytes.ts";
import { parseTodo } from "../queue/envelope.ts";
import { captureConsole, collector, streamOf } from "./test_io.ts";
import { type InjectRun, main, runInject } from "./inject.ts";

async function withHome(fn: (home: string) => Promise<void>) {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function run(home: string, message: string, extra: Partial<InjectRun> = {}): InjectRun {
  return {
    home,
    env: { USER: "joe" },
    recipients: [],
    strategy: "default",
    stdin: streamOf(message),
    ...extra,
  };
}

Deno.test("qmd inject -n prints the completed message; the body streams through", async () => {
  await withHome(async (home) => {
    const output = collector();
    const code = await runInject(run(home, "Subject: hi\nTo: ann\n\nline 1\nno newline", {
      printing: true,
      stdout: output.stream,
      now: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      pid: 77,
    }));
    assertEquals(code, 0);
    assertEquals(
      output.text(),
      "Return-Path: <joe@mail.example.com>\n" +
        "Date: 2 Jan 2024 03:04:05 -0000\n" +
        "Message-ID: <20240102030405.77.qmail@mail.example.com>\n" +
        "From: joe@mail.example.com\n" +
        "Subject: hi\n" +
        "To: ann@mail.example.com\n" +
        "\nline 1\nno newline\n",
    );
  });
});

Deno.test("qmd inject queues into a home made by init, envelope from the header", async () => {
  await withHome(async (home) => {
    const code = await runInject(run(home, "To: ann@example.net\nBcc: bob\n\nhello\n"));
    assertEquals(code, 0);
    const layout = new QueueLayout(`${home}/queue`);
    const ids = layout.listIds("todo");
    assertEquals(ids.length, 1);
    const todo = parseTodo(Deno.readFileSync(layout.todo(ids[0])));
    assertEquals(bytesToString(todo.sender!), "joe@mail.example.com");
    assertEquals(todo.recipients.map(bytesToString), ["ann@example.net", "bob@mail.example.com"]);
    const mess = Deno.readTextFileSync(layout.mess(ids[0]));
    assertMatch(mess, /^Received: \(qmail \d+ invoked by uid \d+\); /);
    assert(!mess.includes("Bcc"), mess);
    assert(mess.endsWith("\nhello\n"));
  });
});

Deno.test("qmd inject: no recipients and a bad From exit 100, a bad flag 64, one line", async () => {
  await withHome(async (home) => {
    const none = await captureConsole(() => runInject(run(home, "Subject: x\n\n")));
    assertEquals([none.result, none.err], [100, ["qmail-inject: fatal: no recipients"]]);
    const bad = await captureConsole(() =>
      runInject(run(home, "From: (x\n\n", { recipients: ["a@b.example"] }))
    );
    assertEquals(bad.result, 100);
    assertEquals(bad.err, ["qmail-inject: fatal: unable to parse this line:\nFrom: (x\n"]);
    const flag = await captureConsole(() => main(["-q", "--home", home], streamOf("")));
    assertEquals(flag.result, 64);
    assertEquals(flag.err.length, 1);
    assertStringIncludes(flag.err[0], "qmd inject:");
    assertEquals((await captureConsole(() => main(["--help"], streamOf("")))).result, 0);
  });
});

Deno.test("qmd inject: the last of -a/-h/-H wins; -f is rewritten like any address", async () => {
  await withHome(async (home) => {
    const output = collector();
    const code = await main(
      ["--home", home, "-h", "-a", "-n", "-f", "bounce@host", "x@example.net"],
      streamOf("To: y@example.net\n\n"),
      output.stream,
    );
    assertEquals(code, 0);
    assert(output.text().startsWith("Return-Path: <bounce@host.example.com>\n"), output.text());
  });
});

Deno.test("qmd inject: a queue that cannot be written is a temporary failure", async () => {
  await withHome(async (home) => {
    Deno.removeSync(`${home}/queue/pid`);
    const result = await captureConsole(() => runInject(run(home, "To: a@example.net\n\nx\n")));
    assertEquals(result.result, 111);
    assertMatch(result.err[0], /^qmail-inject: fatal: /);
  });
});

Deno.test("qmd inject: bigbrother and extraqueue add their recipients, as qmail-queue does", async () => {
  await withHome(async (home) => {
    Deno.writeTextFileSync(`${home}/control/bigbrother`, "joe@mail.example.com:bb@example.net\n");
    Deno.writeTextFileSync(`${home}/control/extraqueue`, "archive@example.net\n");
    Deno.writeTextFileSync(`${home}/control/originipfield`, "1\n");
    assertEquals(await runInject(run(home, "To: ann@example.net\n\nhello\n")), 0);
    const layout = new QueueLayout(`${home}/queue`);
    const [id] = layout.listIds("todo");
    const todo = parseTodo(Deno.readFileSync(layout.todo(id)));
    assertEquals(todo.recipients.map(bytesToString), [
      "ann@example.net",
      "bb@example.net",
      "archive@example.net",
    ]);
    // No client, so no X-Originating-IP.
    assert(!bytesToString(Deno.readFileSync(layout.mess(id))).includes("X-Originating-IP"));
  });
});
