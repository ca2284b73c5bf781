/**
 * rcptcheck (docs/patches.md: seed 000's README.antispam and seed 001's
 * RCPTCHECK): for each RCPT a program named by control/rcptcheck, or by
 * $RCPTCHECK which overrides it, runs with $SENDER and $RECIPIENT set, and
 * its exit code picks the reply.
 *
 * The two seeds' tables are merged. Where they give the same code different
 * meanings (111) the later patch, seed 001, wins; the codes only seed 000
 * defines keep its replies; every other code accepts (seed 001's "all
 * others"). A program that cannot be run, hangs past its time or dies of a
 * signal is seed 001's 120, a temporary failure: never an accept.
 */
import { byteStringText } from "../bytes.ts";
import type { FilterCheck, FilterRequest, LookupAnswer, RuleRef, Verdict } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";
import { feedsSpamCatcher } from "./realrcptto.ts";

/** One exit code's reply; `close` for the 421s, which drop the connection. */
export interface RcptCheckReply {
  reply: string;
  close: boolean;
}

const reply = (text: string): RcptCheckReply => ({ reply: text, close: text.startsWith("421") });

/** Seed 000's table (README.antispam). */
const SEED_000: Readonly<Record<number, RcptCheckReply>> = {
  1: reply("553 5.1.1 sorry, no mailbox here by that name."),
  2: reply("421 4.3.0 unable to verify recipient/sender (misuse)"),
  3: reply("421 4.3.0 unable to verify recipient/sender (internal)"),
  11: reply("451 4.1.1 bad destination mailbox address"),
  12: reply("451 4.1.2 bad destination system address"),
  13: reply("451 4.1.3 bad destination mailbox address syntax"),
  14: reply("451 4.1.4 destination mailbox address ambiguous"),
  16: reply("451 4.1.6 mailbox has moved"),
  17: reply("451 4.1.7 bad sender's mailbox address syntax"),
  18: reply("451 4.1.8 bad sender's system address"),
  21: reply("452 4.2.1 mailbox disabled, not accepting messages"),
  22: reply("452 4.2.2 mailbox full"),
  111: reply("421 4.3.0 unable to verify recipient/sender (temporary)"),
  112: reply("421 4.3.0 unable to verify recipient/sender (greylisting)"),
};

/** Seed 001's table (RCPTCHECK); 120 is also what a program that cannot run gets. */
const SEED_001: Readonly<Record<number, RcptCheckReply>> = {
  100: reply("553 sorry, no mailbox here by that name. (#5.1.1)"),
  111: reply("421 unable to verify recipient (#4.3.0)"),
  120: reply("421 unable to execute recipient check (#4.3.0)"),
};

/** The merged table: seed 000's codes, then seed 001's over them (111 is seed 001's). */
export const RCPTCHECK_REPLIES: Readonly<Record<number, RcptCheckReply>> = {
  ...SEED_000,
  ...SEED_001,
};

/** The exit code seed 001 uses for a check that could not be run. */
export const CANNOT_RUN = 120;

/** The reply for an exit code, or undefined when the code accepts. */
export function rcptCheckReply(exitCode: number): RcptCheckReply | undefined {
  return Object.hasOwn(RCPTCHECK_REPLIES, exitCode) ? RCPTCHECK_REPLIES[exitCode] : undefined;
}

export interface RcptCheckSettings {
  /** The program's path (the first line of control/rcptcheck, or $RCPTCHECK). */
  program: string;
  /** "control/rcptcheck" or "RCPTCHECK": where the program was named. */
  source: string;
  /** Seconds the program may run (control/timeoutrcptcheck). */
  timeoutSeconds: number;
}

/**
 * The program's environment: seed 001 runs it "in the same environment as
 * qmail-smtpd" (the client's tcp.smtp variables), with SENDER and RECIPIENT
 * for this RCPT and tcpserver's TCP* variables.
 */
export function rcptCheckEnvironment(request: FilterRequest): Record<string, string> {
  const env: Record<string, string> = {
    ...request.env,
    // Byte strings as text, which the environment carries as UTF-8: a UTF-8 address keeps its bytes.
    SENDER: byteStringText(request.sender ?? ""),
    RECIPIENT: byteStringText(request.recipient ?? ""),
    TCPREMOTEIP: request.remoteIp,
  };
  if (request.remoteHost !== undefined) env.TCPREMOTEHOST = request.remoteHost;
  if (request.localIp !== undefined) env.TCPLOCALIP = request.localIp;
  if (request.authUser !== undefined) env.SMTPAUTHUSER = request.authUser;
  return env;
}

function rule(settings: RcptCheckSettings, outcome: string): RuleRef {
  return { check: "rcptcheck", source: settings.source, entry: `${settings.program} ${outcome}` };
}

export const rcptCheck: FilterCheck<RcptCheckSettings> = {
  name: "rcptcheck",
  phases: ["rcpt"],
  check(request, settings): Verdict {
    if ((request.recipient ?? "") === "" || feedsSpamCatcher(request)) return PASS;
    return {
      kind: "lookup",
      lookup: {
        kind: "program",
        argv: [settings.program],
        env: rcptCheckEnvironment(request),
        timeoutSeconds: settings.timeoutSeconds,
      },
    };
  },
  resume(_request, settings, answer: LookupAnswer): Verdict {
    let code: number;
    let outcome: string;
    if (answer.kind === "program") {
      code = answer.exitCode;
      // What the program said about it (seed 000's sample log: "mysqlcheck: ... (code:1)").
      const said = answer.output?.split("\n", 1)[0].slice(0, 200);
      outcome = said ? `exit ${code}: ${said}` : `exit ${code}`;
    } else {
      code = CANNOT_RUN;
      outcome = answer.kind === "temporary"
        ? `not run: ${answer.reason}`
        : `unexpected ${answer.kind}`;
    }
    const chosen = rcptCheckReply(code);
    if (chosen === undefined) return PASS;
    return refuse(chosen.reply, rule(settings, outcome), chosen.close ? { close: true } : {});
  },
};
