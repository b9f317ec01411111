/**
 * The runtime's one QEMU command line (lib/runtime/nixos/qemu.nix), evaluated by real Nix for
 * tests that start QEMU or look at its arguments. The builder is called exactly as the runtime
 * module calls it, with the values the module derives from a guest's options.
 */
import { join } from "node:path";
import { evalJson } from "./nix.ts";

const QEMU_NIX = join(import.meta.dirname, "..", "..", "lib", "runtime", "nixos", "qemu.nix");

/** A guest as the runtime module hands it to qemu.nix (its options plus derived paths). */
export interface QemuGuest {
  name: string;
  cpus: number;
  memoryMiB: number;
  /** The qcow2 image (`<stateDir>/disk.qcow2` in the module). */
  image: string;
  diskSerial: string;
  qmpSocket: string;
  consoleLog: string;
  /** The serial console's unix socket (`/run/qemu-guests/<name>/console.sock` in the module). */
  consoleSocket: string;
  vnc: { display: number; address: string } | null;
  tap: string;
  mac: string;
  /** Arguments after the guest's own devices (the passthrough devices). */
  extraQemuArgs: string[];
  /** The NICs after the first (networks.nix's `extraNics`); none when absent. */
  extraNics?: readonly { tap: string; mac: string }[];
  firmware: "bios" | "uefi";
  /** OVMF's code and the guest's variables file; read only for UEFI guests. */
  uefi?: { code: string; vars: string };
  tpm: boolean;
  /** swtpm's control socket; read only with `tpm`. */
  tpmSocket?: string;
  memoryBalloon: boolean;
  install: {
    offline: boolean;
    memoryMiB: number;
    /** `<stateDir>/install.tmp` in the module. */
    workDir: string;
    log: string;
  };
  /** Data disks by name, as disks.nix declares them. */
  disks: Record<string, { bytes: number; serial: string; image: string }>;
  /** Shares by tag, as shares.nix declares them. */
  shares: Record<
    string,
    { source: string; readOnly: boolean; protocol: "virtiofs" | "9p"; socket: string }
  >;
}

/** Defaults that make a complete guest from the fields a test cares about. */
export function qemuGuest(over: Partial<QemuGuest> & { name: string; image: string }): QemuGuest {
  const dir = over.image.replace(/\/[^/]*$/, "");
  return {
    cpus: 1,
    memoryMiB: 256,
    diskSerial: "vmflake-root",
    qmpSocket: `${dir}/qmp.sock`,
    consoleLog: `${dir}/console.log`,
    consoleSocket: `${dir}/console.sock`,
    vnc: null,
    tap: `vm-${over.name}`.slice(0, 15),
    mac: "52:54:00:12:34:56",
    extraQemuArgs: [],
    firmware: "bios",
    tpm: false,
    memoryBalloon: true,
    install: {
      offline: false,
      memoryMiB: 3072,
      workDir: `${dir}/install.tmp`,
      log: `${dir}/install.log`,
    },
    disks: {},
    shares: {},
    ...over,
  };
}

const lib = `{
  optionalString = c: s: if c then s else "";
  optionals = c: l: if c then l else [ ];
}`;

function evalBuilder(which: "guest" | "install", guests: readonly QemuGuest[]): string[][] {
  if (guests.length === 0) return [];
  // A Nix "…" string reads JSON's escapes the same way, except `$`: `${` would interpolate.
  const input = JSON.stringify(JSON.stringify(guests)).replaceAll("$", "\\$");
  return evalJson<string[][]>(
    `let q = import (/. + ${JSON.stringify(QEMU_NIX)}) { lib = ${lib}; }; in map q.${which} (builtins.fromJSON ${input})`,
  );
}

/** The guest QEMU's arguments (without the program) for each of `guests`, in one Nix call. */
export function guestQemuArgs(guests: readonly QemuGuest[]): string[][] {
  return evalBuilder("guest", guests);
}

/** The installer VM's arguments (without the program) for each of `guests`, in one Nix call. */
export function installQemuArgs(guests: readonly QemuGuest[]): string[][] {
  return evalBuilder("install", guests);
}

/**
 * The builder's error for one guest (a `throw` in qemu.nix), or undefined when it evaluates.
 * Used to show that bad values never turn into a different command line.
 */
export function builderError(which: "guest" | "install", guest: QemuGuest): string | undefined {
  try {
    evalBuilder(which, [guest]);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** `args` without the NIC (`-netdev tap…` and its `virtio-net-pci`), for QEMU runs with no tap. */
export function withoutNic(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1] ?? "";
    if (
      (a === "-netdev" && v.startsWith("tap,")) ||
      (a === "-device" && v.startsWith("virtio-net-pci,"))
    ) {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}
