/**
 * QEMU started the way the guest unit starts it, as far as networking goes: the unit's ExecStart
 * argument vector, as the guest's own unprivileged user (systemd's `User=`/`Group=` plus its
 * supplementary groups), inside the test's network namespace, with systemd's environment. The
 * program is the stand-in nixpkgs' `qemu_kvm`, i.e. test/support/qemu-kit/qemu-tcg, which swaps
 * KVM for TCG and, on a kernel without /dev/vhost-net, `vhost=on` for `vhost=off` (the tap itself,
 * its name and owner are unchanged). `ip netns exec`, `setpriv` and the wrapper all exec, so the
 * child's pid is QEMU's.
 */
import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { QemuExit, QemuRun } from "../../support/qemu-kit/qemu-process.ts";
import { createImage } from "../../support/qemu-kit/test-guest.ts";
import type { EvaluatedService, HostNetwork } from "./host-network.ts";
import type { Netns } from "./netns.ts";
import {
  addSystemGroup,
  addSystemUser,
  removeSystemGroup,
  removeSystemUser,
  userIds,
} from "./system-users.ts";

/** True when this kernel offers vhost-net (the test machine's has none; see above). */
export const hasVhostNet = existsSync("/dev/vhost-net");

/** systemd's environment for a system service: its compiled-in PATH and nothing of the test's. */
export const SYSTEMD_ENV: NodeJS.ProcessEnv = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

/**
 * A directory as systemd makes `StateDirectory=`/`RuntimeDirectory=` for `User=`: its parents
 * root's (0755), itself owned by `user` with `mode` (an octal string such as "0750").
 */
export function unitDirectory(path: string, user: string, mode: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  const ids = userIds(user);
  chownSync(path, ids.uid, ids.gid);
  chmodSync(path, Number.parseInt(mode, 8));
}

/** An empty qcow2 image owned by `user`. */
export function userImage(path: string, user: string, bytes = 64 * 1024 * 1024): void {
  createImage(path, bytes);
  const ids = userIds(user);
  chownSync(path, ids.uid, ids.gid);
  chmodSync(path, 0o600);
}

/** Starts `argv` in `ns` as `user`:`group` with the user's supplementary groups. */
export function startQemuAs(
  ns: Netns,
  user: string,
  group: string,
  argv: readonly string[],
): QemuRun {
  const full = [
    ...ns.exec,
    "setpriv",
    `--reuid=${user}`,
    `--regid=${group}`,
    "--init-groups",
    ...argv,
  ];
  const child = spawn(full[0]!, full.slice(1), {
    env: SYSTEMD_ENV,
    stdio: ["ignore", "pipe", "pipe"],
  });
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
  if (child.pid === undefined) throw new Error(`could not start ${full.join(" ")}`);
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

/** What a guest's unit needs before its QEMU starts, with the clean-up steps to undo it. */
export interface UnitSetup {
  /** The evaluated module's users and groups (NixOS activation makes them before any unit). */
  users: HostNetwork["users"];
  groups: HostNetwork["groups"];
}

/** Creates the module's system groups, then its users; pushes their removal onto `cleanup`. */
export function createModuleUsers(net: UnitSetup, cleanup: (() => unknown)[]): void {
  for (const group of Object.keys(net.groups)) {
    addSystemGroup(group);
    cleanup.push(() => removeSystemGroup(group));
  }
  for (const [user, u] of Object.entries(net.users)) {
    addSystemUser(user, u.group ?? user, u.extraGroups ?? []);
    cleanup.push(() => removeSystemUser(user));
  }
}

/**
 * A guest unit's StateDirectory and RuntimeDirectory as systemd makes them, and the image its
 * ExecStart opens (standing in for the install unit's), owned by the unit's user.
 */
export function prepareUnit(unit: EvaluatedService, cleanup: (() => unknown)[]): void {
  for (const [dir, mode] of [
    [join("/var/lib", unit.stateDirectory!), unit.stateDirectoryMode!],
    [join("/run", unit.runtimeDirectory!), unit.runtimeDirectoryMode!],
  ] as const) {
    unitDirectory(dir, unit.user!, mode);
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  const file = unit.execStart.find(
    (a, i) => unit.execStart[i - 1] === "-blockdev" && a.startsWith("driver=file,"),
  )!;
  userImage(/filename=([^,]+)/.exec(file)![1]!, unit.user!);
}
