/** A guest's data disks: sizes, serials, where (and as what) the guest mounts them. */
import { fieldList, isPlainObject, object, string } from "../fields.ts";
import { DISK_SERIAL, type ResolvedDisk } from "../model.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import { formatSize, parseSize } from "../sizes.ts";
import type { DiskSpec } from "../spec.ts";
import { type MountPoints, mountPoint } from "./paths.ts";

/** The fields of a data disk. */
export const DISK_FIELDS = fieldList<DiskSpec>()(["size", "mountPoint", "fsType", "serial"]);

/** File systems a blank data disk can get. */
export const DISK_FS_TYPES = ["ext4", "xfs", "btrfs"] as const;
type DiskFsType = (typeof DISK_FS_TYPES)[number];

/**
 * Disk names: they name the image file (`disk-<name>.qcow2`) and are the default serial, so a
 * lowercase label of at most 20 characters (virtio-blk's serial length).
 */
const DISK_NAME = /^[a-z][a-z0-9-]{0,19}$/;
/** virtio-blk serials: the virtio spec's 20-byte ID field; QEMU would cut a longer one. */
const SERIAL = /^[A-Za-z0-9._-]{1,20}$/;

const MIN_SIZE = 1n << 20n;
const MAX_SIZE = 64n << 40n;

/** The data disks of the guest at `guestPath`, or undefined after reporting their problems. */
export function resolveDisks(
  p: Problems,
  value: unknown,
  guestPath: string,
  mounts: MountPoints,
): ResolvedDisk[] | undefined {
  if (value === undefined) return [];
  const path = `${guestPath}.disks`;
  if (!isPlainObject(value)) {
    p.add(path, `must be an object of data disks by name, e.g. { data: { size: "20G" } }`);
    return undefined;
  }
  const before = p.list.length;
  const serials = new Map<string, string>([[DISK_SERIAL, "the root disk"]]);
  const disks: ResolvedDisk[] = [];
  for (const name of Object.keys(value).sort()) {
    const dpath = joinPath(path, name);
    if (!DISK_NAME.test(name)) {
      p.add(
        dpath,
        `${show(name)} is not a valid disk name: a lowercase letter, then up to 19 lowercase letters, digits or "-"`,
      );
    }
    const d = object(p, value[name], dpath, DISK_FIELDS);
    if (d === undefined) continue;
    const bytes = diskSize(p, d.size, `${dpath}.size`);
    let serial: string | undefined = name;
    if (d.serial !== undefined) {
      serial = string(p, d.serial, `${dpath}.serial`);
      if (serial !== undefined && !SERIAL.test(serial)) {
        p.add(
          `${dpath}.serial`,
          `${show(serial)} is not a virtio serial: 1–20 characters from letters, digits, ".", "_" and "-"`,
        );
        serial = undefined;
      }
    }
    if (serial !== undefined) {
      const owner = serials.get(serial);
      if (owner !== undefined) {
        p.add(
          d.serial === undefined ? dpath : `${dpath}.serial`,
          `serial ${show(serial)} is already ${owner}'s; the guest tells its disks apart by serial, so give this disk another${d.serial === undefined ? " (serial defaults to the disk's name)" : ""}`,
        );
      } else serials.set(serial, `disk ${name}`);
    }
    let mount: ResolvedDisk["mount"];
    if (d.mountPoint !== undefined) {
      const m = mountPoint(p, d.mountPoint, `${dpath}.mountPoint`);
      if (m !== undefined) mounts.claim(p, m, `${dpath}.mountPoint`);
      const fsType = d.fsType === undefined ? "ext4" : fs(p, d.fsType, `${dpath}.fsType`);
      if (m !== undefined && fsType !== undefined) mount = { mountPoint: m, fsType };
    } else if (d.fsType !== undefined) {
      p.add(
        `${dpath}.fsType`,
        "is set but mountPoint is not; a disk that is not mounted is never formatted",
      );
    }
    if (bytes !== undefined && serial !== undefined) {
      disks.push({ name, bytes, serial, ...(mount ? { mount } : {}) });
    }
  }
  return p.list.length > before ? undefined : disks;
}

function diskSize(p: Problems, value: unknown, path: string): bigint | undefined {
  if (value === undefined) {
    p.add(path, `is missing; give the disk's size such as "20G"`);
    return undefined;
  }
  const r = parseSize(value);
  if ("error" in r) p.add(path, r.error);
  else if (r.bytes < MIN_SIZE)
    p.add(
      path,
      `${show(value)} is too small; a data disk must be at least ${formatSize(MIN_SIZE)}`,
    );
  else if (r.bytes > MAX_SIZE)
    p.add(path, `${show(value)} is too large; a data disk can be at most ${formatSize(MAX_SIZE)}`);
  else return r.bytes;
  return undefined;
}

function fs(p: Problems, value: unknown, path: string): DiskFsType | undefined {
  if ((DISK_FS_TYPES as readonly unknown[]).includes(value)) return value as DiskFsType;
  p.add(
    path,
    `must be one of ${DISK_FS_TYPES.map((t) => `"${t}"`).join(", ")}; got ${show(value)}`,
  );
  return undefined;
}
