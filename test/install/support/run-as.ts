/**
 * Running a unit's ExecStart the way systemd runs it for the install unit: as the guest's system
 * user (created here as NixOS would from `users.users`), in the state directory systemd would
 * create (`StateDirectory=` with its mode), and for a network install with the guest's tap made
 * by the guest's own tap unit (in a network namespace of the test's own).
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, mkdirSync, chmodSync } from "node:fs";
import { dirname } from "node:path";

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

/** Creates a system user with a group of the same name (as `isSystemUser` + `group` do). */
export function addSystemUser(name: string): SystemUser {
  sh("useradd", [
    "--system",
    "--user-group",
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    name,
  ]);
  return {
    name,
    uid: Number(sh("id", ["-u", name]).trim()),
    gid: Number(sh("id", ["-g", name]).trim()),
  };
}

export function removeSystemUser(name: string): void {
  spawnSync("userdel", [name]);
  spawnSync("groupdel", [name]);
}

/** `StateDirectory=`: the directory (under /var/lib) owned by the user with the given mode. */
export function makeStateDirectory(path: string, user: SystemUser, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  mkdirSync(path, { recursive: true });
  chownSync(path, user.uid, user.gid);
  chmodSync(path, mode);
}

/** A network namespace of the test's own, where the guest's tap unit runs as it would on the host. */
export interface Netns {
  name: string;
  /** Runs `argv` as root inside the namespace (a tap unit has no User=); throws on failure. */
  run(argv: readonly string[]): string;
  remove(): void;
}

export function createNetns(name: string): Netns {
  sh("ip", ["netns", "add", name]);
  return {
    name,
    run: (argv) => sh("ip", ["netns", "exec", name, ...argv]),
    remove() {
      spawnSync("ip", ["netns", "delete", name]);
    },
  };
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a unit's ExecStart argument vector as systemd runs it: the program itself, no shell in
 * between, as `user` (no supplementary groups), with the unit's `UMask=`, optionally inside
 * `netns`. The umask is set by a `sh` that then execs the program, since setpriv has no option
 * for it.
 */
export function runUnitExec(
  argv: readonly string[],
  user: SystemUser,
  opts: { umask: string; netns?: string },
): Promise<ScriptResult> {
  if (!/^[0-7]{3,4}$/.test(opts.umask)) throw new Error(`not a umask: ${opts.umask}`);
  const setpriv = [
    "setpriv",
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    "--clear-groups",
    "--",
    "sh",
    "-c",
    `umask ${opts.umask} && exec "$@"`,
    "sh",
    ...argv,
  ];
  const all = opts.netns ? ["ip", "netns", "exec", opts.netns, ...setpriv] : setpriv;
  const started = performance.now();
  const child = spawn(all[0]!, all.slice(1), {
    env: { PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", LANG: "C.UTF-8" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}
