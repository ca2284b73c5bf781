/**
 * The same transcripts as tests/pop3_transcript_test.ts, this time over a
 * real loopback socket: the real POP3 connection driver, a real Maildir in a
 * temporary home, real TLS for STLS and POP3S.
 */
import { parsePop3Transcript, TranscriptError } from "./pop3_transcript.ts";
import { runPop3TranscriptLive } from "./pop3_transcript_run.ts";

const DIR = new URL("./pop3_transcripts/", import.meta.url).pathname;

for (const entry of [...Deno.readDirSync(DIR)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".txt")) continue;
  const transcript = parsePop3Transcript(Deno.readTextFileSync(`${DIR}${entry.name}`));
  Deno.test(`pop3 transcript over loopback: ${entry.name}`, async () => {
    try {
      await runPop3TranscriptLive(transcript, entry.name);
    } catch (error) {
      if (error instanceof TranscriptError) throw new Error(`${entry.name} ${error.message}`);
      throw error;
    }
  });
}
