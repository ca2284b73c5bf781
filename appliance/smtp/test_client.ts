/**
 * A scripted server for the SMTP client's tests (client_test.ts,
 * client_auth_test.ts): options for a session, and a player that feeds it
 * server replies and records what it sends.
 */
import type { ClientResult, ClientStep, SmtpClientOptions, SmtpClientSession } from "./client.ts";

export const IP = "192.0.2.7";

export function options(extra: Partial<SmtpClientOptions> = {}): SmtpClientOptions {
  return {
    ip: IP,
    heloHost: "me.example",
    tls: { mode: "off" },
    message: { sender: "a@me.example", recipients: ["b@there.example"], size: 1234 },
    ...extra,
  };
}

/**
 * Plays a transcript: each server reply is fed in order ("\n" separates its
 * lines); STARTTLS upgrades and body streaming are acknowledged at once (or as
 * `events` say). Returns every command line and the final result.
 */
export function play(
  session: SmtpClientSession,
  replies: string[],
  events: { tls?: "ok" | "handshake" | "verify"; lostAfter?: number; bodyFails?: boolean } = {},
): { commands: string[]; result?: ClientResult; sensitive: string[]; steps: ClientStep[] } {
  const commands: string[] = [];
  const sensitive: string[] = [];
  const steps: ClientStep[] = [];
  let step = session.start();
  let index = 0;
  for (let guard = 0; guard < 100; guard++) {
    steps.push(step);
    commands.push(...step.send);
    if (step.sensitive) sensitive.push(...step.send);
    if (step.done) return { commands, result: step.done, sensitive, steps };
    if (step.startTls) {
      const tls = events.tls ?? "ok";
      step = tls === "ok" ? session.tlsStarted() : session.tlsFailed(tls, "certificate expired");
      continue;
    }
    if (step.streamBody) {
      commands.push("<body>");
      step = events.bodyFails ? session.bodyFailed("partial") : session.bodySent();
      continue;
    }
    if (events.lostAfter !== undefined && index === events.lostAfter) {
      step = session.connectionLost();
      continue;
    }
    if (index >= replies.length) return { commands, sensitive, steps };
    step = session.reply(replies[index++].split("\n"));
  }
  throw new Error("transcript did not finish");
}
