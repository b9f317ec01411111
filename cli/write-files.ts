/** Apply a plan: each file is written to a temporary name beside it, then renamed into place. */
import { mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Change } from "./output-plan.ts";

export function applyChanges(out: string, changes: readonly Change[]): void {
  // Write everything first, so a failure leaves old files in place rather than a mix.
  const staged: [tmp: string, final: string][] = [];
  try {
    for (const c of changes) {
      if (c.kind !== "create" && c.kind !== "update") continue;
      const final = join(out, c.path);
      mkdirSync(dirname(final), { recursive: true });
      const tmp = `${final}.vmflake-${process.pid}.tmp`;
      writeFileSync(tmp, c.after!, { flag: "wx" });
      staged.push([tmp, final]);
    }
  } catch (e) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    throw e;
  }
  for (const [tmp, final] of staged) renameSync(tmp, final);
  for (const c of changes) {
    if (c.kind !== "remove") continue;
    const full = join(out, c.path);
    rmSync(full);
    removeEmptyDirs(dirname(full), out);
  }
}

/** Remove directories left empty by removals, up to (not including) `stop`. */
function removeEmptyDirs(dir: string, stop: string): void {
  for (let d = dir; d.startsWith(stop) && d !== stop; d = dirname(d)) {
    if (readdirSync(d).length > 0) return;
    rmdirSync(d);
  }
}
