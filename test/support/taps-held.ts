import { readdirSync, readFileSync } from "node:fs";

/**
 * The taps a process holds: the kernel's record (`/proc/PID/fdinfo`, the `iff:` line) of which
 * tap each of its tun file descriptors is bound to. A descriptor the process closes between
 * the listing and the read (QEMU opens and closes others as it runs) is skipped.
 */
export function tapsHeldBy(pid: number): string[] {
  const taps: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    const m = /^iff:\s*(\S+)$/m.exec(info);
    if (m) taps.push(m[1]!);
  }
  return taps;
}
