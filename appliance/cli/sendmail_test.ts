import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { initHome } from "../home/init_home.ts";
import { QueueLayout } from "../queue/layout.ts";
import { bytesToString } from "../bytes.ts";
import { parseTodo } from "../queue/envelope.ts";
import { captureConsole, streamOf } from "./test_io.ts";
import { main, senderEnvironment } from "./sendmail.ts";

async function withHome(fn: (home: string, layout: QueueLayout) => Promise<void>) {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    await fn(home, new QueueLayout(`${home}/queue`));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function queued(layout: QueueLayout) {
  return layout.listIds("todo").map((id) => {
    const todo = parseTodo(Deno.readFileSync(layout.todo(id)));
    return {
      sender: bytesToString(todo.sender!),
      recipients: todo.recipients.map(bytesToString),
      mess: Deno.readTextFileSync(layout.mess(id)),
    };
  });
}

Deno.test("qmd sendmail -t -oi -f: header recipients plus arguments, sender and From from -f", async () => {
  await withHome(async (home, layout) => {
    const code = await main(
      [
        "--home",
        home,
        "-t",
        "-oi",
        "-i",
        "-odb",
        "-f",
        "list-bounces@example.org",
        "-F",
        "The List",
        "extra@example.net",
      ],
      streamOf("To: ann@example.net\nSubject: s\n\nbody\n.\nmore\n"),
    );
    assertEquals(code, 0);
    const [message] = queued(layout);
    assertEquals(message.sender, "list-bounces@example.org");
    assertEquals(message.recipients, ["extra@example.net", "ann@example.net"]);
    assertStringIncludes(message.mess, 'From: "The List" <list-bounces@example.org>\n');
    assertStringIncludes(message.mess, "\nbody\n.\nmore\n");
  });
});

Deno.test("qmd sendmail without -t takes only the arguments; -f '<>' is the null sender", async () => {
  await withHome(async (home, layout) => {
    const code = await main(
      ["--home", home, "-f", "<>", "bob@example.net"],
      streamOf("To: ann@example.net\n\nx\n"),
    );
    assertEquals(code, 0);
    const [message] = queued(layout);
    assertEquals([message.sender, message.recipients], ["", ["bob@example.net"]]);
  });
});

Deno.test("qmd sendmail: a bad flag and -bs give one line and 64", async () => {
  for (const args of [["-q"], ["-bs"], ["-bp"]]) {
    const result = await captureConsole(() => main(args, streamOf("")));
    assertEquals(result.result, 64, args.join(" "));
    assertEquals(result.err.length, 1);
  }
});

Deno.test("sendmail -f sets QMAILUSER/QMAILHOST and clears the name variables", () => {
  assertEquals(
    senderEnvironment({ NAME: "x", MAILHOST: "h", USER: "u" }, "a@b.example", undefined),
    { USER: "u", QMAILUSER: "a", QMAILHOST: "b.example" },
  );
  assertEquals(senderEnvironment({}, "local", "Full"), { QMAILUSER: "local", MAILNAME: "Full" });
});
