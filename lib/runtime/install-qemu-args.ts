/**
 * The QEMU command line of a guest's first install: the installer ISO on a CD, the blank
 * image-in-progress on virtio-blk with the serial the guest's system expects, and the seed drive
 * (read-only vvfat). It follows the guest's own command line (`qemu-args.ts`) where it can
 * (machine, sandbox, serial console, RNG, network, VNC) and differs where the install needs it:
 * `-no-reboot` and `-boot once=d` (`reference/qemu-on-nixos.md` §7.4), no `bootindex`, which
 * firmware does not combine with `-boot` (qemu(1)), and the default cache mode, since the image is
 * checked and fsynced after QEMU exits and before anything uses it.
 */
import { SEED_LABEL, SEED_SERIAL, WORK_IMAGE, WORK_ISO, WORK_SEED } from "./install-protocol.ts";

/** What the installer VM of one guest needs, resolved. */
export interface InstallQemuRuntime {
  /** Guest name; the VM is called `<name>-install`. */
  name: string;
  cpus: number;
  memoryMiB: number;
  /** The private work directory (see install-protocol.ts): image-in-progress, ISO link, seed. */
  workDir: string;
  /** virtio-blk serial of the target disk: the one the guest's system boots from. */
  diskSerial: string;
  /** The install log: the installer's serial console, appended to. */
  log: string;
  /** VNC on `address:display`, when the guest has VNC (it is free: the guest is not running). */
  vnc?: { address: string; display: number };
  /** The guest's tap and MAC, for a network install. */
  net?: { tap: string; mac: string };
}

/** The exact argument list (without the program) of the installer VM. */
export function installQemuArgs(r: InstallQemuRuntime): string[] {
  const work = opt("workDir", r.workDir);
  const serial = opt("diskSerial", r.diskSerial);
  if (new TextEncoder().encode(serial).length > 20) {
    throw new Error(
      `installQemuArgs: diskSerial ${JSON.stringify(serial)} is longer than 20 bytes`,
    );
  }
  const args = [
    ["-name", `guest=${opt("name", r.name)}-install,debug-threads=on`],
    ["-machine", "q35,accel=kvm"],
    ["-cpu", "host"],
    ["-smp", String(positiveInt("cpus", r.cpus))],
    ["-m", `${positiveInt("memoryMiB", r.memoryMiB)}M`],
    ["-nodefaults"],
    ["-no-user-config"],
    ["-msg", "timestamp=on"],
    ["-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"],
    // A reboot or a panic ends QEMU; the CD is booted once, so a reset never re-enters the ISO.
    ["-no-reboot"],
    ["-boot", "once=d"],
    ["-chardev", `file,id=serial0,path=${opt("log", r.log)},append=on`],
    ["-serial", "chardev:serial0"],
    // q35's built-in AHCI controller (bus ide.0) is present even with -nodefaults.
    ["-blockdev", `driver=file,node-name=installer-file,filename=${work}/${WORK_ISO},read-only=on`],
    ["-blockdev", "driver=raw,node-name=installer,file=installer-file,read-only=on"],
    ["-device", "ide-cd,drive=installer,bus=ide.0"],
    ["-blockdev", `driver=file,node-name=disk0-file,filename=${work}/${WORK_IMAGE},discard=unmap`],
    ["-blockdev", "driver=qcow2,node-name=disk0,file=disk0-file,discard=unmap,detect-zeroes=unmap"],
    ["-device", `virtio-blk-pci,drive=disk0,serial=${serial}`],
    // vvfat: a FAT16 disk with one partition, built from the directory; read-only for the guest.
    [
      "-blockdev",
      `driver=vvfat,node-name=seed,dir=${work}/${WORK_SEED},fat-type=16,label=${SEED_LABEL},read-only=on`,
    ],
    ["-device", `virtio-blk-pci,drive=seed,serial=${SEED_SERIAL}`],
    ["-object", "rng-random,id=rng0,filename=/dev/urandom"],
    ["-device", "virtio-rng-pci,rng=rng0"],
    ...display(r.vnc),
    ...(r.net ? network(r.net) : []),
  ];
  return args.flat();
}

function display(vnc: InstallQemuRuntime["vnc"]): string[][] {
  if (!vnc) return [["-display", "none"]];
  const display = vnc.display;
  if (!Number.isSafeInteger(display) || display < 0) {
    throw new Error(`installQemuArgs: vnc.display must be a non-negative integer, got ${display}`);
  }
  return [
    ["-display", `vnc=${opt("vnc.address", vnc.address)}:${display}`],
    ["-device", "VGA"],
  ];
}

function network(net: NonNullable<InstallQemuRuntime["net"]>): string[][] {
  return [
    ["-netdev", `tap,id=net0,ifname=${opt("net.tap", net.tap)},script=no,downscript=no,vhost=on`],
    ["-device", `virtio-net-pci,netdev=net0,mac=${opt("net.mac", net.mac)}`],
  ];
}

/** A value inside a comma-separated QEMU option list: a comma would start another option. */
function opt(field: string, value: string): string {
  if (value === "") throw new Error(`installQemuArgs: ${field} is empty`);
  if (value.includes(",")) {
    throw new Error(
      `installQemuArgs: ${field} ${JSON.stringify(value)} contains a comma, which QEMU would read as the start of another option`,
    );
  }
  return value;
}

function positiveInt(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`installQemuArgs: ${field} must be a positive integer, got ${value}`);
  }
  return value;
}
