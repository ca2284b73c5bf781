/**
 * The HTTP-01 challenge's responder (RFC 8555 §8.3): while an order is in
 * progress, GET /.well-known/acme-challenge/TOKEN answers the key
 * authorization of a token the CA gave; every other request gets 404. It
 * listens only for the duration of an order, so port 80 is free (for a web
 * server that may proxy it) the rest of the time.
 */

const PREFIX = "/.well-known/acme-challenge/";

/** The tokens being answered: token → key authorization. */
export type ChallengeAnswers = Map<string, string>;

export interface ChallengeResponder {
  /** The port it listens on (the one asked for, or the kernel's for port 0). */
  port: number;
  close(): Promise<void>;
}

/** Answers `answers` on host:port until closed. Rejects when it cannot listen. */
export function listenForChallenges(
  host: string,
  port: number,
  answers: ChallengeAnswers,
): Promise<ChallengeResponder> {
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer;
    try {
      server = Deno.serve({
        hostname: host,
        port,
        onListen: (address) =>
          resolve({ port: address.port, close: () => server.shutdown().catch(() => {}) }),
        onError: () => new Response("error\n", { status: 500 }),
      }, (request) => answerChallenge(request, answers));
    } catch (error) {
      reject(
        new Error(`cannot listen on ${host}:${port} for HTTP-01: ${(error as Error).message}`),
      );
    }
  });
}

/** The answer to one request: the key authorization as text/plain, or 404. */
export function answerChallenge(request: Request, answers: ChallengeAnswers): Response {
  const path = new URL(request.url).pathname;
  const answer = request.method === "GET" && path.startsWith(PREFIX)
    ? answers.get(path.slice(PREFIX.length))
    : undefined;
  if (answer === undefined) return new Response("not found\n", { status: 404 });
  return new Response(answer, { headers: { "content-type": "application/octet-stream" } });
}
