/**
 * A fake HTTPS server on 127.0.0.1 for tests (Deno.serve with a test
 * certificate): it answers every request with the response `answer` gives
 * and counts the requests (the MTA-STS policy host, mta-sts.DOMAIN).
 */
export interface FakeHttps {
  port: number;
  /** Host headers of the requests received, in order. */
  readonly hosts: string[];
  /** Paths of the requests received, in order. */
  readonly paths: string[];
  close(): Promise<void>;
}

export async function startFakeHttps(
  tls: { cert: string; key: string },
  answer: (request: Request) => Response,
): Promise<FakeHttps> {
  const hosts: string[] = [];
  const paths: string[] = [];
  let listening: (port: number) => void = () => {};
  const ready = new Promise<number>((resolve) => listening = resolve);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: tls.cert,
    key: tls.key,
    onListen: ({ port }) => listening(port),
  }, (request) => {
    hosts.push(request.headers.get("host") ?? "");
    paths.push(new URL(request.url).pathname);
    return answer(request);
  });
  const port = await ready;
  return {
    port,
    hosts,
    paths,
    async close() {
      await server.shutdown();
    },
  };
}
