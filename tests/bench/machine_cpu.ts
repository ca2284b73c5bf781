/**
 * CPU time over a stretch of a benchmark, split between the server under
 * test and the load tool. The machine's busy time comes from /proc/stat
 * (every CPU: user, nice, system, irq, softirq; idle, iowait and steal are
 * not this machine's work); the load tool is this process, whose own CPU
 * comes from process.cpuUsage(). What is left is the server's (and any
 * background work, which on the quiet benchmark machine is near nothing).
 * Linux only: elsewhere the meter reads nothing and says so.
 */
import process from "node:process";

export interface CpuSplit {
  /** Milliseconds of CPU the server used (the machine's, less this process's). */
  serverMs: number;
  /** Milliseconds of CPU this process (the load tool) used. */
  loadToolMs: number;
}

/** Busy time of all CPUs in milliseconds, or undefined where /proc/stat cannot be read. */
function machineBusyMs(): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/stat");
  } catch {
    return undefined;
  }
  const fields = text.slice(0, text.indexOf("\n")).trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq] = fields;
  // USER_HZ is 100 on every Linux that exposes /proc/stat to programs.
  return (user + nice + system + irq + softirq) * 10;
}

function ownMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Starts measuring; the function returned gives the split so far (undefined off Linux). */
export function startCpuMeter(): () => CpuSplit | undefined {
  const machine = machineBusyMs();
  const own = ownMs();
  return () => {
    const machineNow = machineBusyMs();
    if (machine === undefined || machineNow === undefined) return undefined;
    const loadToolMs = ownMs() - own;
    return { serverMs: Math.max(0, machineNow - machine - loadToolMs), loadToolMs };
  };
}
