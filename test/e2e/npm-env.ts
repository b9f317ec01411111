/**
 * Running npm, npx and Node in a directory as a user would: the environment without the npm_*
 * variables of an outer `npm test` (they name this repository as the prefix and package), the
 * local cache first, and never an install prompt.
 */
import { spawnSync } from "node:child_process";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};

/** Run `cmd args…` in `cwd`; throws only when it cannot be started. */
export function run(cmd: string, args: readonly string[], cwd: string): RunResult {
  const r = spawnSync(cmd, args, {
    cwd,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like {@link run}, but a non-zero exit is an error that shows the output. */
export function runOk(cmd: string, args: readonly string[], cwd: string): RunResult {
  const r = run(cmd, args, cwd);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}
