/**
 * A fake /sys, /proc and /dev for the runtime's vfio-bind script: a STAND-IN for a host's PCI
 * devices, IOMMU groups, network interfaces and disks, laid out as the kernel lays them out (real
 * directories under sys/devices, symlinks from sys/bus/pci/devices, sys/class/net,
 * sys/class/block and sys/kernel/iommu_groups). No test machine has an IOMMU or a device to hand
 * over; kernel.sh next to this file plays the kernel's part of a bind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";

/** A network interface of a device. */
export interface FakeNic {
  readonly name: string;
  /** IFF_UP set in its flags. */
  readonly up: boolean;
  /** The bridge it is a port of. */
  readonly master?: string;
}

/** A disk or partition of a device. */
export interface FakeBlock {
  readonly name: string;
  /** major:minor */
  readonly dev: string;
  /** Devices holding it (dm-0, md0 …). */
  readonly holders?: readonly string[];
}

/** One PCI function. */
export interface FakePciDevice {
  readonly address: string;
  /** PCI class, e.g. 0x020000 (Ethernet); 0x060400 is a PCI bridge. */
  readonly pciClass?: string;
  readonly driver?: string;
  /** IOMMU group; absent: the IOMMU is off. */
  readonly group?: number;
  readonly nics?: readonly FakeNic[];
  readonly blocks?: readonly FakeBlock[];
}

export interface FakeHost {
  readonly devices: readonly FakePciDevice[];
  /** Whether the vfio-pci driver is loaded. @defaultValue true */
  readonly vfioLoaded?: boolean;
  /** major:minor of mounted block devices. */
  readonly mounted?: readonly string[];
  /** Swap devices, e.g. /dev/sda2. */
  readonly swaps?: readonly string[];
}

/** The fake tree of `host` under `root` (root/sys, root/proc, root/dev). */
export function makeFakeHost(root: string, host: FakeHost): void {
  const sys = join(root, "sys");
  const drivers = join(sys, "bus/pci/drivers");
  mkdirSync(join(sys, "bus/pci/devices"), { recursive: true });
  mkdirSync(join(sys, "class/net"), { recursive: true });
  mkdirSync(join(sys, "class/block"), { recursive: true });
  mkdirSync(join(root, "dev/vfio"), { recursive: true });
  mkdirSync(join(root, "proc/self"), { recursive: true });
  execFileSync("mkfifo", [join(sys, "bus/pci/drivers_probe")]);
  const driver = (name: string) => {
    mkdirSync(join(drivers, name), { recursive: true });
    writeFileSync(join(drivers, name, "unbind"), "");
  };
  if (host.vfioLoaded ?? true) driver("vfio-pci");
  for (const d of host.devices) {
    const rel = `devices/pci0000:00/${d.address}`;
    const dir = join(sys, rel);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "class"), `${d.pciClass ?? "0x020000"}\n`);
    writeFileSync(join(dir, "driver_override"), "");
    symlinkSync(`../../../${rel}`, join(sys, "bus/pci/devices", d.address));
    if (d.driver !== undefined) {
      driver(d.driver);
      symlinkSync(`../../../bus/pci/drivers/${d.driver}`, join(dir, "driver"));
    }
    if (d.group !== undefined) {
      const g = join(sys, "kernel/iommu_groups", String(d.group));
      mkdirSync(join(g, "devices"), { recursive: true });
      symlinkSync(`../../../kernel/iommu_groups/${d.group}`, join(dir, "iommu_group"));
      symlinkSync(`../../../../${rel}`, join(g, "devices", d.address));
    }
    // A device already on vfio-pci has its group's node, root's, as devtmpfs made it.
    const node = join(root, "dev/vfio", String(d.group));
    if (d.driver === "vfio-pci" && d.group !== undefined && !existsSync(node)) {
      execFileSync("mknod", ["-m", "0600", node, "c", "1", "3"]);
    }
    for (const n of d.nics ?? []) {
      const nd = join(dir, "net", n.name);
      mkdirSync(nd, { recursive: true });
      writeFileSync(join(nd, "flags"), n.up ? "0x1003\n" : "0x1002\n");
      if (n.master !== undefined) {
        mkdirSync(join(sys, "devices/virtual/net", n.master), { recursive: true });
        symlinkSync(`../../../../virtual/net/${n.master}`, join(nd, "master"));
      }
      symlinkSync(`../../${rel}/net/${n.name}`, join(sys, "class/net", n.name));
    }
    for (const b of d.blocks ?? []) {
      const bd = join(dir, "nvme/nvme0", b.name);
      mkdirSync(join(bd, "holders"), { recursive: true });
      writeFileSync(join(bd, "dev"), `${b.dev}\n`);
      for (const h of b.holders ?? []) writeFileSync(join(bd, "holders", h), "");
      symlinkSync(`../../${rel}/nvme/nvme0/${b.name}`, join(sys, "class/block", b.name));
    }
  }
  // mountinfo: mount ID, parent ID, major:minor, root, mount point, options …
  writeFileSync(
    join(root, "proc/self/mountinfo"),
    [
      "22 1 0:21 / /proc rw - proc proc rw",
      ...(host.mounted ?? []).map((mm, i) => `${30 + i} 1 ${mm} / /mnt${i} rw - ext4 /dev/x rw`),
    ]
      .map((l) => `${l}\n`)
      .join(""),
  );
  writeFileSync(
    join(root, "proc/swaps"),
    [
      "Filename\tType\tSize\tUsed\tPriority",
      ...(host.swaps ?? []).map((s) => `${s}\tpartition\t1024\t0\t-2`),
    ]
      .map((l) => `${l}\n`)
      .join(""),
  );
}

/** The driver a fake device is bound to now, or undefined. */
export function driverOf(root: string, address: string): string | undefined {
  try {
    return basename(readlinkSync(join(root, "sys/bus/pci/devices", address, "driver")));
  } catch {
    return undefined;
  }
}

/** What was written to a fake device's driver_override. */
export function overrideOf(root: string, address: string): string {
  return readFileSync(join(root, "sys/bus/pci/devices", address, "driver_override"), "utf8");
}

/** What was written to a fake driver's unbind file. */
export function unbindOf(root: string, driver: string): string {
  return readFileSync(join(root, "sys/bus/pci/drivers", driver, "unbind"), "utf8");
}

/** The stand-in kernel (kernel.sh) serving the fake tree's drivers_probe until stopped. */
export function startFakeKernel(root: string): {
  readonly stop: () => void;
  readonly process: ChildProcess;
} {
  const child = spawn(join(import.meta.dirname, "kernel.sh"), [root], { stdio: "ignore" });
  return { process: child, stop: () => void child.kill("SIGKILL") };
}

/** The addresses the stand-in kernel was asked to probe, in order. */
export function probed(root: string): string[] {
  try {
    return readFileSync(join(root, "probed"), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}
