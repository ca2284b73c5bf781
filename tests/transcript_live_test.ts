/**
 * The same transcripts as tests/transcript_test.ts, this time over a real
 * loopback socket: control files in a temporary home, the real connection
 * driver, the real queue, real TLS. Transcripts that need setup only the
 * in-memory run can give (the client's address, the clock, queue errors)
 * are skipped here.
 */
import { parseTranscript, TranscriptError, transcriptRunsOnlyInMemory } from "./transcript.ts";
import { runTranscriptLive } from "./transcript_run.ts";

const DIR = new URL("./transcripts/", import.meta.url).pathname;

for (const entry of [...Deno.readDirSync(DIR)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".txt")) continue;
  const events = parseTranscript(Deno.readTextFileSync(`${DIR}${entry.name}`));
  Deno.test({
    name: `transcript over loopback: ${entry.name}`,
    ignore: transcriptRunsOnlyInMemory(events),
    async fn() {
      try {
        await runTranscriptLive(events, entry.name);
      } catch (error) {
        if (error instanceof TranscriptError) throw new Error(`${entry.name} ${error.message}`);
        throw error;
      }
    },
  });
}
