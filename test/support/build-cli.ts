/** Run build.ts in-process (same code path as the command line) and capture its output. */
import { join } from "node:path";
import { runBuild } from "../../cli/main.ts";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");

export interface BuildResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function build(args: readonly string[]): Promise<BuildResult> {
  let stdout = "";
  let stderr = "";
  const code = await runBuild(args, REPO_ROOT, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}
