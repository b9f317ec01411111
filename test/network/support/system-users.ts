/**
 * The system users and groups a host module declares (`users.users.<u>.isSystemUser`,
 * `users.groups.<g>`), created on this machine with shadow's tools for the duration of a test.
 * Several test workers may edit /etc/passwd at once, so a "cannot lock" refusal is retried.
 */
import { attempt, type Attempt } from "./netns.ts";

/** Runs a shadow tool, retrying for up to 10 s while another process holds its lock. */
function shadow(cmd: string, args: readonly string[]): Attempt {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = attempt(cmd, args);
    if (r.ok || !/lock/i.test(r.stderr) || Date.now() > deadline) return r;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

function must(cmd: string, args: readonly string[]): void {
  const r = shadow(cmd, args);
  if (!r.ok) throw new Error(`${[cmd, ...args].join(" ")} failed:\n${r.stderr}`);
}

/** `getent passwd|group NAME` as fields, or undefined. */
function getent(db: "passwd" | "group", name: string): string[] | undefined {
  const r = attempt("getent", [db, name]);
  return r.ok ? r.stdout.trim().split(":") : undefined;
}

/** A system group, as `groupadd --system` makes it. */
export function addSystemGroup(name: string): void {
  if (getent("group", name) !== undefined) throw new Error(`group ${name} already exists`);
  must("groupadd", ["--system", name]);
}

/** A system user with primary group `group` (which must exist) and supplementary `extraGroups`. */
export function addSystemUser(name: string, group: string, extraGroups: readonly string[]): void {
  if (getent("passwd", name) !== undefined) throw new Error(`user ${name} already exists`);
  must("useradd", [
    "--system",
    "--gid",
    group,
    ...(extraGroups.length > 0 ? ["--groups", extraGroups.join(",")] : []),
    "--no-create-home",
    "--home-dir",
    "/nonexistent",
    "--shell",
    "/usr/sbin/nologin",
    name,
  ]);
}

/** Removes a user made by {@link addSystemUser}, if it exists. */
export function removeSystemUser(name: string): void {
  if (getent("passwd", name) !== undefined) must("userdel", [name]);
}

/** Removes a group made by {@link addSystemGroup}, if it exists. */
export function removeSystemGroup(name: string): void {
  if (getent("group", name) !== undefined) must("groupdel", [name]);
}

/** Numeric ids of an existing user: uid, primary gid and every group it is in. */
export function userIds(name: string): { uid: number; gid: number; groups: number[] } {
  const pw = getent("passwd", name);
  if (pw === undefined) throw new Error(`no user ${name}`);
  const groups = attempt("id", ["-G", name]).stdout.trim().split(/\s+/).map(Number);
  return { uid: Number(pw[2]), gid: Number(pw[3]), groups };
}

/** The gid of an existing group. */
export function groupId(name: string): number {
  const gr = getent("group", name);
  if (gr === undefined) throw new Error(`no group ${name}`);
  return Number(gr[2]);
}
