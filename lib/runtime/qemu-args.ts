/**
 * The QEMU command line of one guest, built in one place so that every feature adds its flags
 * here and nowhere else. The choices follow `reference/qemu-on-nixos.md` §1.1; every flag is
 * accepted without a warning by QEMU 7.2 and none is removed in QEMU 10/11.
 */

/** Everything the guest's QEMU process needs at run time, already validated and resolved. */
export interface QemuGuestRuntime {
  /** Guest name; shown in `ps`, thread names and QMP `query-name`. */
  name: string;
  /** Number of virtual CPUs (`-smp`). */
  cpus: number;
  /** Guest memory in MiB (`-m`). */
  memoryMiB: number;
  /** Absolute path of the guest's qcow2 image. */
  imagePath: string;
  /** virtio-blk serial (at most 20 bytes); the guest sees `/dev/disk/by-id/virtio-<serial>`. */
  diskSerial: string;
  /** Path of the QMP control socket (used by the stop script). */
  qmpSocket: string;
  /** File receiving the guest's first serial port (the kernel console); appended to. */
  serialLog: string;
  /** VNC server on `address:display` (port 5900 + display) with a standard VGA card. */
  vnc?: { address: string; display: number };
  /** Bridged networking through a pre-created tap owned by the guest's user. */
  net?: { tap: string; mac: string };
}

/** Longest virtio-blk serial: the virtio spec's 20-byte ID field; QEMU cuts longer ones. */
const maxSerialBytes = 20;

/**
 * The exact argument list (without the program name) that runs `g` under KVM.
 *
 * Throws when a value would be split by QEMU's option parser (a comma) or is not a usable number:
 * values are validated upstream, so this only guards against a programming error turning into a
 * different command line.
 */
export function qemuArgs(g: QemuGuestRuntime): string[] {
  const name = opt("name", g.name);
  const image = opt("imagePath", g.imagePath);
  const serial = opt("diskSerial", g.diskSerial);
  if (new TextEncoder().encode(serial).length > maxSerialBytes) {
    throw new Error(`qemuArgs: diskSerial ${JSON.stringify(serial)} is longer than 20 bytes`);
  }
  const args = [
    ["-name", `guest=${name},debug-threads=on`],
    // accel=kvm without a tcg fallback: a host without /dev/kvm must fail loudly (§1.1).
    ["-machine", "q35,accel=kvm"],
    ["-cpu", "host"],
    ["-smp", String(positiveInt("cpus", g.cpus))],
    ["-m", `${positiveInt("memoryMiB", g.memoryMiB)}M`],
    // No default serial/parallel/monitor/VGA/CD-ROM, no /etc/qemu config files (§1.1).
    ["-nodefaults"],
    ["-no-user-config"],
    ["-msg", "timestamp=on"],
    // libvirt's default seccomp set; spawn=deny is why taps use script=no (§1.1).
    ["-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"],
    ["-qmp", `unix:${opt("qmpSocket", g.qmpSocket)},server=on,wait=off`],
    // append=on: Restart=on-failure must not wipe the console of the crash that caused it.
    ["-chardev", `file,id=serial0,path=${opt("serialLog", g.serialLog)},append=on`],
    ["-serial", "chardev:serial0"],
    ...disk(image, serial),
    ["-object", "rng-random,id=rng0,filename=/dev/urandom"],
    ["-device", "virtio-rng-pci,rng=rng0"],
    ...display(g.vnc),
    ...(g.net ? network(g.net) : []),
  ];
  return args.flat();
}

/**
 * Two `-blockdev` nodes (file, then qcow2 on top) as libvirt does. `cache.direct=on` with the
 * default `no-flush=off` is `cache=none`: O_DIRECT, guest flushes honoured; `aio=io_uring` works
 * with it; `detect-zeroes=unmap` needs `discard=unmap` (§1.1 "Disk caching", "discard").
 */
function disk(image: string, serial: string): string[][] {
  return [
    [
      "-blockdev",
      `driver=file,node-name=disk0-file,filename=${image},aio=io_uring,cache.direct=on,discard=unmap`,
    ],
    [
      "-blockdev",
      "driver=qcow2,node-name=disk0,file=disk0-file,cache.direct=on,discard=unmap,detect-zeroes=unmap",
    ],
    // bootindex replaces the removed qemu-kvm `boot=on` (§1 table).
    ["-device", `virtio-blk-pci,drive=disk0,serial=${serial},bootindex=1`],
  ];
}

function display(vnc: QemuGuestRuntime["vnc"]): string[][] {
  if (!vnc) return [["-display", "none"]];
  const address = opt("vnc.address", vnc.address);
  const display = nonNegativeInt("vnc.display", vnc.display);
  // -nodefaults removed the default VGA card; VNC without one shows nothing.
  return [
    ["-display", `vnc=${address}:${display}`],
    ["-device", "VGA"],
  ];
}

/** tap with vhost-net and an explicit MAC: QEMU's default MAC is the same in every process (§4). */
function network(net: NonNullable<QemuGuestRuntime["net"]>): string[][] {
  const tap = opt("net.tap", net.tap);
  const mac = opt("net.mac", net.mac);
  return [
    ["-netdev", `tap,id=net0,ifname=${tap},script=no,downscript=no,vhost=on`],
    ["-device", `virtio-net-pci,netdev=net0,mac=${mac}`],
  ];
}

/** A value placed inside a comma-separated QEMU option list: a comma would start a new option. */
function opt(field: string, value: string): string {
  if (value === "") throw new Error(`qemuArgs: ${field} is empty`);
  if (value.includes(",")) {
    throw new Error(
      `qemuArgs: ${field} ${JSON.stringify(value)} contains a comma, which QEMU would read as the start of another option`,
    );
  }
  return value;
}

function positiveInt(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`qemuArgs: ${field} must be a positive integer, got ${value}`);
  }
  return value;
}

function nonNegativeInt(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`qemuArgs: ${field} must be a non-negative integer, got ${value}`);
  }
  return value;
}
