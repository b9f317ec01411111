/**
 * The boot settings of a guest's own system, by its firmware: GRUB on the MBR disk for BIOS,
 * systemd-boot on the EFI system partition for UEFI (the installer partitions the disk to match),
 * and the TPM's support when the guest has one.
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding } from "../../dsl/index.ts";
import type { ResolvedGuest } from "../model.ts";

/** The boot loader and, for UEFI, the EFI system partition's mount. */
export function bootLoader(guest: ResolvedGuest): NixBinding[] {
  if (guest.firmware === "bios") {
    return [
      n.bind(["boot", "loader", "grub", "device"], `/dev/disk/by-id/virtio-${guest.diskSerial}`, {
        comment: "BIOS boot from the virtio disk the host names by its serial.",
      }),
    ];
  }
  return [
    n.bind(["boot", "loader", "systemd-boot", "enable"], true, {
      comment: [
        "UEFI boot. systemd-boot is also the disk's fallback loader (EFI/BOOT/BOOTX64.EFI), so the",
        "guest boots without an entry in its NVRAM, which it therefore leaves alone.",
      ],
    }),
    n.bind(["boot", "loader", "efi", "canTouchEfiVariables"], false),
    n.bind(["fileSystems", "/boot"], {
      device: "/dev/disk/by-label/ESP",
      fsType: "vfat",
      options: ["umask=0077"],
    }),
  ];
}

/** The guest's TPM 2.0 (QEMU's tpm-crb, backed by the host's swtpm), when it has one. */
export function tpmSupport(guest: ResolvedGuest): NixBinding[] {
  if (!guest.tpm) return [];
  return [
    n.bind(["security", "tpm2", "enable"], true, {
      comment: "The host gives this guest a TPM 2.0 (swtpm): /dev/tpm0 and /dev/tpmrm0.",
    }),
  ];
}
