/** Names that land in hostnames, unit names, user names, interface names and shell words. */
import { createHash } from "node:crypto";

/** A lowercase DNS label, also usable in systemd unit names and Linux user names. */
export const HOSTNAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Guest system users are `vm-<guest>`; Linux user names have at most 32 characters. */
export const GUEST_USER_PREFIX = "vm-";
export const MAX_USER_NAME = 32;

/** Linux interface names: 1–15 bytes (IFNAMSIZ 16 with NUL); we allow only shell-safe ones. */
export const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/** The default tap of a guest: `vm-<guest>`, or `vm-` and 8 hex digits of a hash if too long. */
export function defaultTap(guest: string): string {
  const plain = `vm-${guest}`;
  if (plain.length <= 15) return plain;
  return `vm-${createHash("sha256").update(guest).digest("hex").slice(0, 8)}`;
}

/** systemd's path escaping (`systemd-escape --path`) for an interface name (no slashes). */
export function escapeSystemdName(name: string): string {
  return [...name]
    .map((c, i) =>
      /[A-Za-z0-9:_]/.test(c) || (c === "." && i > 0)
        ? c
        : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    )
    .join("");
}

/** The device unit of a network interface, as systemd names it. */
export function netDeviceUnit(ifname: string): string {
  return `sys-subsystem-net-devices-${escapeSystemdName(ifname)}.device`;
}
