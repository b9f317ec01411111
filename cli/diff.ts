/** Unified diffs of planned changes, by the system's `diff -u` (diffutils). */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Change } from "./output-plan.ts";

export function unifiedDiff(change: Change): string {
  const dir = mkdtempSync(join(tmpdir(), "vmflake-diff-"));
  try {
    const a = join(dir, "a");
    const b = join(dir, "b");
    writeFileSync(a, change.before ?? "");
    writeFileSync(b, change.after ?? "");
    const from = change.kind === "create" ? "/dev/null" : `a/${change.path}`;
    const to = change.kind === "remove" ? "/dev/null" : `b/${change.path}`;
    const r = spawnSync("diff", ["-u", "--label", from, "--label", to, a, b], { encoding: "utf8" });
    if (r.error) throw r.error;
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
