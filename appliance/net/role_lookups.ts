/**
 * The runners of the lookups an smtpd isolate cannot answer itself: whether
 * local delivery would take an address (`recipient`: realrcptto,
 * recipientchk 1) and greylisting's triplets (`greylist`). Under `qmd start`
 * the role asks the role that may read those files (ipc.ts LOOKUP_ROLES)
 * through the supervisor: the context's `ask`. Without one (`qmd smtpd`
 * under tcpserver, which runs alone with the whole home's permissions, and
 * the transcript runs) they are answered in this process from the home
 * (in_process_lookups.ts), with the same functions. Also the `program`
 * runner's wiring (program_lookup.ts), run in the home as qmail-smtpd is.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import { InProcessLookups } from "./in_process_lookups.ts";
import { runProgramLookup } from "./program_lookup.ts";

/** What these runners use of the driver's lookup context (filter_lookups.ts LookupContext). */
export interface RoleLookupContext {
  /** QMAILHOME. */
  home?: string;
  /** Asks the role that answers this kind (the smtpd role's ListenerRole.lookup). */
  ask?: (lookup: Lookup) => Promise<LookupAnswer>;
}

/** One in-process answerer per home, kept for the process's life (caches, open database). */
const inProcess = new Map<string, InProcessLookups>();

function answerHere(lookup: Lookup, home: string | undefined): Promise<LookupAnswer> {
  if (home === undefined) {
    return Promise.resolve({ kind: "temporary", reason: `no home to answer ${lookup.kind}` });
  }
  let lookups = inProcess.get(home);
  if (lookups === undefined) {
    lookups = new InProcessLookups(home);
    inProcess.set(home, lookups);
  }
  return lookups.answer(lookup);
}

/** A lookup another role answers: asked of it, else answered here. */
export function runRoleLookup(lookup: Lookup, context: RoleLookupContext): Promise<LookupAnswer> {
  return context.ask !== undefined ? context.ask(lookup) : answerHere(lookup, context.home);
}

/** realrcptto's and recipientchk 1's question. */
export function runRecipientLookup(
  lookup: Extract<Lookup, { kind: "recipient" }>,
  context: RoleLookupContext,
): Promise<LookupAnswer> {
  return runRoleLookup(lookup, context);
}

/** Greylisting's triplet. */
export function runGreylistLookup(
  lookup: Extract<Lookup, { kind: "greylist" }>,
  context: RoleLookupContext,
): Promise<LookupAnswer> {
  return runRoleLookup(lookup, context);
}

/** rcptcheck's program, run in the home (qmail-smtpd's working directory). */
export function runProgram(
  lookup: Extract<Lookup, { kind: "program" }>,
  context: RoleLookupContext,
): Promise<LookupAnswer> {
  return runProgramLookup(lookup, context.home === undefined ? {} : { cwd: context.home });
}
