/**
 * Runs QEMU for a test the way the guest unit does: the given argument list, exec'ed (through the
 * {@link qemuTcg} stand-in for KVM) so the child's pid is QEMU's pid, as `MAINPID` is under systemd.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Test-only wrapper: accel=kvm becomes accel=tcg and `-cpu host` becomes `-cpu max`. */
export const qemuTcg = fileURLToPath(new URL("./qemu-tcg", import.meta.url));

/** How a QEMU process ended. */
export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A QEMU started by {@link startQemu}. */
export interface QemuRun {
  pid: number;
  /** Resolves when QEMU has exited (and been reaped, so `kill -0` fails from then on). */
  exited: Promise<QemuExit>;
  /** True until QEMU has exited. */
  running(): boolean;
  /** Everything QEMU wrote to stdout and stderr so far. */
  output(): string;
  /** Ends QEMU with SIGKILL if it still runs (test clean-up only). */
  kill(): Promise<QemuExit>;
}

/** Starts `qemu-tcg args…`. */
export function startQemu(args: readonly string[]): QemuRun {
  const child = spawn(qemuTcg, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let done = false;
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<QemuExit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${qemuTcg}`);
  return {
    pid: child.pid,
    exited,
    running: () => !done,
    output: () => output,
    kill: async () => {
      if (!done) child.kill("SIGKILL");
      return exited;
    },
  };
}

/** Lines of QEMU output that a clean command line must never produce. */
export function warningLines(output: string): string[] {
  return output.split("\n").filter((l) => /deprecat|warning/i.test(l));
}

/** Polls `condition` every 50 ms; rejects with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  condition: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until QEMU has created its QMP socket (or exited, which fails with its output). */
export async function waitForSocket(qemu: QemuRun, socket: string): Promise<void> {
  await waitUntil(`QMP socket ${socket}`, () => existsSync(socket) || !qemu.running(), 30_000);
  if (!qemu.running()) throw new Error(`QEMU exited during start-up:\n${qemu.output()}`);
}
