/**
 * A guest's data disks and shares in the two files that hold them: the host's values
 * (`modules/<host>.nix`: sizes, serials, host directories) and the guest's system
 * (`modules/<host>/<guest>.nix`: where each is mounted).
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding } from "../../dsl/index.ts";
import type { ResolvedGuest } from "../model.ts";

/**
 * The runtime's guest module that lets systemd-makefs format only blank disks, from a guest's
 * file (`modules/<host>/<guest>.nix`).
 */
export const GUEST_DISKS_MODULE = "../vmflake/guest-disks.nix";

/** 9p's largest message size that Linux's virtio transport takes as is (the default is 8 KiB). */
const NINEP_MSIZE = 512 * 1024;

/** The host's values of `g`'s disks and shares (nothing when it has none). */
export function hostDiskAndShareBindings(g: ResolvedGuest): NixBinding[] {
  const out: NixBinding[] = [];
  for (const d of g.disks) {
    out.push(n.bind(["disks", d.name, "bytes"], d.bytes));
    if (d.serial !== d.name) out.push(n.bind(["disks", d.name, "serial"], d.serial));
  }
  for (const s of g.shares) {
    const value: { [k: string]: string | boolean } = { source: s.source };
    if (s.readOnly) value.readOnly = true;
    if (s.protocol !== "virtiofs") value.protocol = s.protocol;
    out.push(n.bind(["shares", s.tag], value));
  }
  return out;
}

/** The guest system's mounts of `g`'s data disks and shares. */
export function guestMountBindings(g: ResolvedGuest): NixBinding[] {
  const out: NixBinding[] = [];
  let commented = false;
  for (const d of g.disks) {
    if (d.mount === undefined) continue;
    const comment = [
      "Data disks: formatted only while blank (vmflake's guest-disks.nix refuses a disk that",
      "holds anything but a file system), and the file system grows with the disk.",
    ];
    out.push(
      n.bind(
        ["fileSystems", d.mount.mountPoint],
        {
          device: `/dev/disk/by-id/virtio-${d.serial}`,
          fsType: d.mount.fsType,
          autoFormat: true,
          autoResize: true,
        },
        commented ? {} : { comment },
      ),
    );
    commented = true;
  }
  for (const s of g.shares) {
    const options =
      s.protocol === "9p" ? ["trans=virtio", "version=9p2000.L", `msize=${NINEP_MSIZE}`] : [];
    if (s.readOnly) options.push("ro");
    out.push(
      n.bind(["fileSystems", s.mountPoint], {
        device: s.tag,
        fsType: s.protocol,
        ...(options.length > 0 ? { options } : {}),
      }),
    );
  }
  return out;
}
