/**
 * Runs a script body the way nixpkgs' `writeShellApplication` packages it: bash with errexit,
 * nounset and pipefail set before the text. The tools come from the host's PATH here, where
 * writeShellApplication would put `runtimeInputs` first.
 */
import { spawn } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What writeShellApplication puts before `text` (minus its PATH line). */
export const shellAppPrelude =
  "#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n";

/** Writes `text` as the executable `dir/name` and returns its path. */
export function writeShellApp(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, shellAppPrelude + text);
  chmodSync(path, 0o755);
  return path;
}

/** Outcome of one script run. */
export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
}

/**
 * Runs `path args…` asynchronously (so this process keeps reaping its other children, as systemd
 * does), with `env` added to a copy of the environment from which MAINPID is removed.
 */
export function runScript(
  path: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<ScriptRun> {
  const { MAINPID: _ignored, ...base } = process.env;
  const started = performance.now();
  const child = spawn(path, args, { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}
