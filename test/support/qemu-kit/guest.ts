/**
 * The kit's tiny guest: the host's Debian kernel plus a busybox initramfs, booted directly
 * (`-kernel/-initrd/-append`) on top of the unit's exact QEMU arguments (qemu.nix). It boots to
 * its ready marker in about 3 s under TCG. Everything is cached by content in {@link kitCacheDir}.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { kitCacheDir, storeByContent } from "./content-hash.ts";
import {
  guestInit,
  powerButtonHandler,
  powerButtonHandlerPath,
  type KitFlavour,
} from "./guest-init.ts";
import { kitKernel } from "./kernel.ts";
import { newcArchive, S_IFDIR, S_IFREG, type CpioEntry } from "./newc-archive.ts";

/**
 * Drivers the guest loads: the power button and its input events, and the virtio disk; the
 * shell flavour also the virtio NIC's.
 */
const wantedModules = (flavour: KitFlavour): string[] => [
  "button",
  "evdev",
  "virtio_pci",
  "virtio_blk",
  ...(flavour === "shell" ? ["virtio_net"] : []),
];

/** What a test adds to a guest's QEMU arguments (qemu.nix's `guest g`) to boot the kit guest. */
export interface KitGuest {
  kernel: string;
  initrd: string;
  append: string;
  /**
   * `-kernel/-initrd/-append`, plus `-no-reboot` so that a panicking guest (`panic=-1`) ends QEMU
   * at once instead of looping; tests therefore check the console markers, never QEMU's status
   * alone (kit notes, pitfall 7).
   */
  bootArgs: string[];
}

/** Builds (or reuses) the guest of `flavour`. */
export function kitGuest(flavour: KitFlavour): KitGuest {
  return customKitGuest(flavour, wantedModules(flavour), (modules) => guestInit(flavour, modules));
}

/**
 * A guest of a test's own: `name` (names its cached initramfs), the kernel modules it loads
 * besides their dependencies, and its `/init`, made from the module files in load order.
 */
export function customKitGuest(
  name: string,
  moduleNames: readonly string[],
  init: (modules: readonly string[]) => string,
): KitGuest {
  const cache = kitCacheDir();
  const kernel = kitKernel(cache);
  const modules = moduleLoadOrder(kernel.modulesDir, moduleNames);
  const entries: CpioEntry[] = [
    ...["bin", "dev", "etc", "etc/acpi", "etc/acpi/PWRF", "lib", "lib/modules", "proc", "sys"].map(
      (path) => ({ path, mode: S_IFDIR | 0o755 }),
    ),
    { path: "bin/busybox", mode: S_IFREG | 0o755, data: staticBusybox() },
    ...modules.map((m) => ({
      path: `lib/modules/${basename(m)}`,
      mode: S_IFREG | 0o644,
      data: readFileSync(join(kernel.modulesDir, m)),
    })),
    { path: powerButtonHandlerPath, mode: S_IFREG | 0o755, data: Buffer.from(powerButtonHandler) },
    {
      path: "init",
      mode: S_IFREG | 0o755,
      data: Buffer.from(init(modules.map((m) => basename(m)))),
    },
  ];
  const initrd = storeByContent(cache, `initrd-${name}`, ".cpio", newcArchive(entries));
  const append = "console=ttyS0 panic=-1 quiet";
  return {
    kernel: kernel.image,
    initrd,
    append,
    bootArgs: ["-kernel", kernel.image, "-initrd", initrd, "-append", append, "-no-reboot"],
  };
}

/**
 * Module files (relative to `modulesDir`) for `names` and their dependencies, dependencies first.
 * modules.dep lists each module's dependencies so that modprobe loads them from last to first.
 */
export function moduleLoadOrder(modulesDir: string, names: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(modulesDir, "modules.dep"), "utf8").split("\n")) {
    const [module, rest] = line.split(":");
    if (module && rest !== undefined) deps.set(module, rest.trim().split(/\s+/).filter(Boolean));
  }
  const order: string[] = [];
  const add = (module: string): void => {
    if (order.includes(module)) return;
    for (const dep of [...(deps.get(module) ?? [])].reverse()) add(dep);
    order.push(module);
  };
  for (const name of names) {
    const module = [...deps.keys()].find((m) => basename(m) === `${name}.ko`);
    if (module === undefined) {
      throw new Error(`qemu-kit: module ${name}.ko (uncompressed) not in ${modulesDir}`);
    }
    add(module);
  }
  return order;
}

/** The busybox binary, which must be static: the initramfs has no libc (busybox-static). */
export function staticBusybox(): Buffer {
  const path = execFileSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).trim();
  const elf = readFileSync(path);
  if (hasInterpreter(elf)) {
    throw new Error(`qemu-kit: ${path} is dynamically linked; install busybox-static`);
  }
  return elf;
}

/** True when the 64-bit little-endian ELF has a PT_INTERP program header (dynamic linking). */
function hasInterpreter(elf: Buffer): boolean {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (elf.readUInt32LE(phoff + i * phentsize) === 3) return true;
  }
  return false;
}
