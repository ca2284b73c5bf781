import { assertEquals } from "../../tests/assert.ts";
import { answerChallenge, listenForChallenges } from "./acme_http.ts";

const ANSWERS = new Map([["tok-1", "tok-1.thumbprint"]]);

Deno.test("acme http-01: a known token's key authorization, 404 for anything else", async () => {
  const ok = answerChallenge(
    new Request("http://mail.example.test/.well-known/acme-challenge/tok-1"),
    ANSWERS,
  );
  assertEquals([ok.status, await ok.text()], [200, "tok-1.thumbprint"]);
  for (
    const [method, path] of [
      ["GET", "/.well-known/acme-challenge/tok-2"],
      ["GET", "/.well-known/acme-challenge/"],
      ["GET", "/tok-1"],
      ["POST", "/.well-known/acme-challenge/tok-1"],
    ]
  ) {
    const response = answerChallenge(
      new Request(`http://mail.example.test${path}`, { method }),
      ANSWERS,
    );
    assertEquals(response.status, 404, `${method} ${path}`);
    await response.body?.cancel();
  }
});

Deno.test("acme http-01: the responder answers over loopback and frees its port when closed", async () => {
  const answers = new Map<string, string>();
  const responder = await listenForChallenges("127.0.0.1", 0, answers);
  answers.set("tok-3", "tok-3.thumbprint");
  const url = `http://127.0.0.1:${responder.port}/.well-known/acme-challenge/tok-3`;
  const response = await fetch(url);
  assertEquals(await response.text(), "tok-3.thumbprint");
  // A port in use: the order fails with the reason, before asking the CA anything.
  const busy = await listenForChallenges("127.0.0.1", responder.port, answers).then(
    () => "listened",
    (error) => (error as Error).message,
  );
  assertEquals(
    busy.startsWith(`cannot listen on 127.0.0.1:${responder.port} for HTTP-01:`),
    true,
    busy,
  );
  await responder.close();
  const again = await listenForChallenges("127.0.0.1", responder.port, answers);
  await again.close();
});
