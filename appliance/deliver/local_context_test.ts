import { assertEquals } from "../../tests/assert.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { createLocalContext } from "./local_context.ts";

Deno.test("createLocalContext: forwards queue as 'by uid N'; refusals keep qmail's text", async () => {
  const home = await Deno.makeTempDir();
  try {
    makeTestQueue(home);
    const { context, close } = createLocalContext(
      { home, env: {}, options: { role: "local", defaultDelivery: "./Mailbox\n" } },
    );
    try {
      assertEquals(context.defaultDelivery, "./Mailbox\n");
      assertEquals(context.findMailbox("example.com", "joe"), undefined);
      const encoder = new TextEncoder();
      const result = await context.inject(
        encoder.encode("Subject: x\n\nbody\n"),
        encoder.encode("a@b"),
        [encoder.encode("c@d")],
      );
      assertEquals(Deno.statSync(context.layout.todo(result.id)).isFile, true);
      const mess = await Deno.readTextFile(context.layout.mess(result.id));
      assertEquals(
        mess.startsWith(`Received: (qmail ${result.qp} invoked by uid ${Deno.uid()});`),
        true,
      );

      // A queue that cannot take the message: the text without its Z, temporary.
      await Deno.remove(`${home}/queue/pid`, { recursive: true });
      let caught: (Error & { temporary?: boolean }) | undefined;
      try {
        await context.inject(encoder.encode("x\n"), encoder.encode(""), [encoder.encode("c@d")]);
      } catch (error) {
        caught = error as Error & { temporary?: boolean };
      }
      assertEquals(caught?.message, "qq trouble creating files in queue (#4.3.0)");
      assertEquals(caught?.temporary, true);
    } finally {
      close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
