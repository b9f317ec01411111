/**
 * A disk the UEFI firmware boots the kit's guest from: a FAT file system (no partition table,
 * which UEFI reads as a whole-disk volume) holding the host's Debian kernel (an EFI stub
 * program), the kit's initramfs and an EFI shell script, `startup.nsh`. Test-only.
 *
 * OVMF finds no boot loader on the guest's blank image nor on this disk, falls back to its
 * built-in shell, and the shell runs `startup.nsh` from the first file system: it prints the NVRAM
 * variable {@link efiProbe} (absent on a first boot), sets it (non-volatile, so it lands in the
 * guest's variables file), and starts the kernel with its command line and initrd.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kitGuest } from "./guest.ts";

/** The NVRAM variable the script reads, then writes. */
export const efiProbe = {
  name: "VmflakeProbe",
  guid: "5ee8c7b0-3bc1-4d0b-9a5f-6c1e2d3f4a5b",
  /** What the shell prints when it reads the variable back: its size, then its UTF-16 bytes. */
  found: "VmflakeProbe - 0008 Bytes",
} as const;

/** Tools it needs on PATH (mtools). */
export const efiDiskTools = ["mformat", "mcopy"] as const;

/** Writes the disk as the raw image `path` and returns it. */
export function writeEfiBootDisk(path: string): string {
  const kit = kitGuest("acpi");
  const kernel = readdirSync("/boot").find((f) => f.startsWith("vmlinuz-"));
  if (kernel === undefined) throw new Error("qemu-kit: no /boot/vmlinuz-*");
  const script = [
    `setvar ${efiProbe.name} -guid ${efiProbe.guid}`,
    `setvar ${efiProbe.name} -guid ${efiProbe.guid} -nv -bs -rt =L"kept"`,
    `fs0:\\vmlinuz initrd=\\initrd ${kit.append}`,
    "",
  ].join("\r\n");
  const nsh = `${path}.startup.nsh`;
  writeFileSync(nsh, script);
  execFileSync("truncate", ["-s", "48M", path]);
  execFileSync("mformat", ["-i", path, "-F", "::"]);
  execFileSync("mcopy", ["-i", path, join("/boot", kernel), "::/vmlinuz"]);
  execFileSync("mcopy", ["-i", path, kit.initrd, "::/initrd"]);
  execFileSync("mcopy", ["-i", path, nsh, "::/startup.nsh"]);
  return path;
}

/** QEMU arguments that attach the disk at `path` read-only, after the guest's own devices. */
export function efiBootDiskArgs(path: string): string[] {
  return [
    "-blockdev",
    `driver=file,node-name=efiboot-file,filename=${path},read-only=on`,
    "-blockdev",
    "driver=raw,node-name=efiboot,file=efiboot-file,read-only=on",
    "-device",
    "virtio-blk-pci,drive=efiboot,bootindex=2",
  ];
}
