/**
 * QEMU started the way the guest unit starts it, as far as networking goes: as the guest's own
 * unprivileged user (systemd's `User=`/`Group=` plus its supplementary groups), inside the test's
 * network namespace, with the guest's exact `qemuArgs(...)` run through the kit's qemu-tcg wrapper.
 * `ip netns exec`, `setpriv` and the wrapper all exec, so the child's pid is QEMU's.
 */
import { spawn } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { QemuExit, QemuRun } from "../../support/qemu-kit/qemu-process.ts";
import { qemuTcg } from "../../support/qemu-kit/qemu-process.ts";
import { createImage } from "../../support/qemu-kit/test-guest.ts";
import type { Netns } from "./netns.ts";
import { userIds } from "./system-users.ts";

/**
 * True when this kernel offers vhost-net. The guest unit asks for `vhost=on`, which QEMU cannot
 * honour without /dev/vhost-net (the test machine's kernel has none); see {@link withVhostOfThisMachine}.
 */
export const hasVhostNet = existsSync("/dev/vhost-net");

/**
 * Test-only stand-in, like qemu-tcg for KVM: on a kernel without vhost-net the `-netdev` value's
 * `vhost=on` becomes `vhost=off` (the tap itself, its name and owner are unchanged). On a machine
 * with /dev/vhost-net the arguments are returned untouched.
 */
export function withVhostOfThisMachine(args: readonly string[]): string[] {
  if (hasVhostNet) return [...args];
  return args.map((a, i) =>
    args[i - 1] === "-netdev" ? a.replace(/(^|,)vhost=on(,|$)/, "$1vhost=off$2") : a,
  );
}

/** A scratch directory owned by `user` (mode 0700) under `parent`, which must be traversable. */
export function userDir(parent: string, name: string, user: string): string {
  const dir = join(parent, name);
  mkdirSync(dir);
  const ids = userIds(user);
  chownSync(dir, ids.uid, ids.gid);
  chmodSync(dir, 0o700);
  return dir;
}

/** An empty qcow2 image owned by `user`. */
export function userImage(path: string, user: string, bytes = 64 * 1024 * 1024): void {
  createImage(path, bytes);
  const ids = userIds(user);
  chownSync(path, ids.uid, ids.gid);
  chmodSync(path, 0o600);
}

/**
 * Copies the kit's qemu-tcg wrapper into `dir` (mode 0755), so that the guest users can run it
 * wherever the repository is checked out.
 */
export function installWrapper(dir: string): string {
  const path = join(dir, "qemu-tcg");
  copyFileSync(qemuTcg, path);
  chmodSync(path, 0o755);
  return path;
}

/** Starts `wrapper args…` in `ns` as `user`:`group` with the user's supplementary groups. */
export function startQemuAs(
  ns: Netns,
  user: string,
  group: string,
  wrapper: string,
  args: readonly string[],
): QemuRun {
  const argv = [
    ...ns.exec,
    "setpriv",
    `--reuid=${user}`,
    `--regid=${group}`,
    "--init-groups",
    wrapper,
    ...args,
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
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
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(" ")}`);
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
