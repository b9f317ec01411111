/**
 * Absolute paths that reach QEMU's comma-separated options, systemd unit settings (whose `%`,
 * `\`, `:` and spaces mean something) and the guest's fstab: data disks' and shares' mount
 * points and shares' host directories.
 */
import { string } from "../fields.ts";
import { type Problems, show } from "../problems.ts";

/** One path component: letters, digits and `.`, `_`, `@`, `+`, `-`. */
const COMPONENT = /^[A-Za-z0-9._@+-]+$/;

/** The longest path accepted (systemd and QEMU both take far longer ones; this keeps units readable). */
const MAX_PATH = 1024;

/**
 * `value` as an absolute path of plain components (no `.`, `..`, empty components or trailing
 * `/`; `/` itself is not one), or undefined after reporting why at `path`.
 */
export function plainAbsolutePath(
  p: Problems,
  value: unknown,
  path: string,
  example: string,
): string | undefined {
  const s = string(p, value, path);
  if (s === undefined) return undefined;
  const why = pathProblem(s, example);
  if (why === undefined) return s;
  p.add(path, why);
  return undefined;
}

function pathProblem(s: string, example: string): string | undefined {
  if (!s.startsWith("/")) return `${show(s)} is not an absolute path such as ${show(example)}`;
  if (s.length > MAX_PATH) return `is ${s.length} characters long; use at most ${MAX_PATH}`;
  const parts = s.slice(1).split("/");
  if (parts.some((c) => c === "" || c === "." || c === "..")) {
    return `${show(s)} must be written plainly: no empty, "." or ".." components and no trailing "/", such as ${show(example)}`;
  }
  const bad = parts.find((c) => !COMPONENT.test(c));
  if (bad !== undefined) {
    return `${show(s)} has a character QEMU options or systemd units cannot carry as is (such as a comma, space, ":", "%", "\\" or a newline); use letters, digits and ".", "_", "@", "+", "-" in each component`;
  }
  return undefined;
}

/** True when `p` is `dir` or below it. */
export function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

/** A mount point in the guest: a plain absolute path, not `/` and not `/nix` or below it. */
export function mountPoint(p: Problems, value: unknown, path: string): string | undefined {
  if (value === "/") {
    p.add(path, `"/" is the guest's root file system; mount at a directory such as "/srv"`);
    return undefined;
  }
  const m = plainAbsolutePath(p, value, path, "/srv");
  if (m !== undefined && isUnder(m, "/nix")) {
    p.add(
      path,
      `${show(m)} is the guest's Nix store or under it; mount at a directory such as "/srv"`,
    );
    return undefined;
  }
  return m;
}

/** Where each mount point of a guest was claimed first, to report a second claim. */
export class MountPoints {
  private readonly seen = new Map<string, string>();

  /** Records `mount` for the field at `path`, or reports that an earlier field has it. */
  claim(p: Problems, mount: string, path: string): void {
    const first = this.seen.get(mount);
    if (first === undefined) this.seen.set(mount, path);
    else p.add(path, `${show(mount)} is already the mount point of ${first}`);
  }
}
