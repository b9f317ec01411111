/**
 * The validated, resolved description: every default filled in and every derived value
 * (tap names, MACs, paths, byte counts) computed, so emitters only copy literals.
 */
import type { NixValue } from "../dsl/index.ts";

export interface ResolvedIPv4 {
  readonly addresses: readonly { readonly address: string; readonly prefixLength: number }[];
  readonly gateway: string;
  readonly dns: readonly string[];
}

export interface ResolvedGuest {
  readonly name: string;
  readonly host: string;
  readonly memoryBytes: bigint;
  readonly memoryMiB: number;
  readonly diskBytes: bigint;
  readonly cpus: number;
  /** VNC display, when enabled. */
  readonly vnc?: { readonly address: string; readonly display: number };
  /** The first NIC's tap and MAC (`nics[0]`'s). */
  readonly tap: string;
  readonly mac: string;
  /** Every NIC, the first one first; one on `lan` unless the guest said otherwise. */
  readonly nics: readonly ResolvedNic[];
  readonly autostart: boolean;
  /** The host's keys then the guest's own, without duplicates. */
  readonly sshKeys: readonly string[];
  readonly shutdownTimeout: number;
  /** `"bios"` or `"uefi"`, fixed at install. */
  readonly firmware: Firmware;
  /** A swtpm TPM 2.0 (UEFI guests only). */
  readonly tpm: boolean;
  /** virtio-balloon with free page reporting. */
  readonly memoryBalloon: boolean;
  readonly ipv4?: ResolvedIPv4;
  readonly config?: { readonly [option: string]: NixValue };
  /** `system.stateVersion`: the guest's own, else its host's (there is no default of vmflake). */
  readonly stateVersion: string;
  /** System user and group QEMU runs as. */
  readonly user: string;
  /** `qemu-guest-<name>` */
  readonly unit: string;
  /** `<stateDir>/<name>`: image and logs. */
  readonly stateDir: string;
  /** The same, relative to /var/lib, for systemd's StateDirectory=. */
  readonly stateDirectory: string;
  /** `/run/qemu-guests/<name>`: the QMP socket. */
  readonly runtimeDir: string;
  readonly runtimeDirectory: string;
  readonly imagePath: string;
  readonly qmpSocket: string;
  readonly serialLog: string;
  /** The virtio-blk serial the guest finds its disk by (`/dev/disk/by-id/virtio-<serial>`). */
  readonly diskSerial: string;
  /** The first install (`qemu-guest-<name>-install.service`). */
  readonly install: ResolvedInstall;
  /** Host devices handed to the guest; absent when it has none. */
  readonly passthrough?: ResolvedPassthrough;
  /** Data disks, by name order. */
  readonly disks: readonly ResolvedDisk[];
  /** Shared host directories, by tag order. */
  readonly shares: readonly ResolvedShare[];
}

/** PCI and USB devices of the host handed to one guest. */
export interface ResolvedPassthrough {
  /** PCI addresses, lowercase `DDDD:BB:DD.F`. */
  readonly pci: readonly string[];
  readonly usb: readonly ResolvedUsbDevice[];
}

/** A USB device by IDs (four lowercase hex digits), optionally only on one bus and port. */
export interface ResolvedUsbDevice {
  readonly vendor: string;
  readonly product: string;
  readonly bus?: number;
  readonly port?: string;
}

/** A data disk: its image is `<stateDir>/disk-<name>.qcow2`. */
export interface ResolvedDisk {
  readonly name: string;
  readonly bytes: bigint;
  readonly serial: string;
  /** Where the guest mounts it, when it does. */
  readonly mount?: { readonly mountPoint: string; readonly fsType: "ext4" | "xfs" | "btrfs" };
}

/** A host directory shared into the guest under `tag`. */
export interface ResolvedShare {
  readonly tag: string;
  readonly source: string;
  readonly mountPoint: string;
  readonly readOnly: boolean;
  readonly protocol: "virtiofs" | "9p";
}

/** One NIC of a guest. */
export interface ResolvedNic {
  /** `lan` or the name of one of the host's networks. */
  readonly network: string;
  readonly tap: string;
  readonly mac: string;
  /** On a `nat` network: the fixed address of its DHCP lease. */
  readonly ipv4?: string;
}

/** A private network of a host (see `NetworkSpec`). */
export interface ResolvedNetwork {
  readonly name: string;
  readonly kind: "hostOnly" | "nat";
  readonly bridge: string;
  /** The host's address on the bridge (a `nat` network's `.1`), if it has one. */
  readonly address?: { readonly address: string; readonly prefixLength: number };
  /** A `nat` network's subnet, as its network address and prefix length. */
  readonly subnet?: { readonly address: string; readonly prefixLength: number };
}

/** The firmware a guest boots with. */
export type Firmware = "bios" | "uefi";

export interface ResolvedInstall {
  /** The guest's system is carried in the host's installer ISO (no network needed). */
  readonly offline: boolean;
  readonly timeoutSeconds: number;
  /** Memory of the installer VM: the guest's, but at least enough to evaluate NixOS. */
  readonly memoryMiB: number;
  /** `qemu-guest-<name>-install` */
  readonly unit: string;
  /**
   * `<stateDir>/install.tmp`: the private work directory (seed files, image-in-progress), next to
   * the image so that publishing it (a hard link, then unlink) is atomic.
   */
  readonly workDir: string;
  /** `<stateDir>/install.log`: the installer's serial console, kept after a failure. */
  readonly log: string;
}

export interface ResolvedHost {
  readonly name: string;
  readonly system: string;
  readonly lan: {
    readonly nic: string;
    readonly bridge: string;
    readonly address: "dhcp" | ResolvedIPv4;
    readonly bridgeMac?: string;
    readonly bypassHostFirewall: boolean;
  };
  /** The host's private networks, by name order as given. */
  readonly networks: readonly ResolvedNetwork[];
  readonly stateDir: string;
  /** The IOMMU kernel parameters for PCI passthrough; absent: the runtime's `auto`. */
  readonly iommu?: "intel" | "amd" | "none";
  readonly guests: readonly ResolvedGuest[];
}

export interface ResolvedSpec {
  readonly nixpkgs: string;
  readonly hosts: readonly ResolvedHost[];
}

/** The network name of the host's bridged LAN in a guest's `nics`. */
export const LAN_NETWORK = "lan";
export const DEFAULT_NIXPKGS = "github:NixOS/nixpkgs/nixos-26.05";
export const DEFAULT_SYSTEM = "x86_64-linux";
export const DEFAULT_STATE_DIR = "/var/lib/qemu-guests";
export const RUNTIME_ROOT = "/run/qemu-guests";
export const DEFAULT_SHUTDOWN_TIMEOUT = 120;
export const DEFAULT_INSTALL_TIMEOUT = 1800;
/** Same for every guest: each guest sees only its own disk. At most 20 bytes (virtio-blk). */
export const DISK_SERIAL = "vmflake-root";
