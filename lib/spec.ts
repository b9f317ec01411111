/**
 * What people write in `hosts.ts`: NixOS hosts and the QEMU/KVM guests each one runs.
 * Every field is checked again at run time by `lib/resolve/` (unknown fields included), so a
 * typo is an error even when the editor did not catch it.
 */
import type { GuestConfig } from "./nixos-config.ts";

/** A size with an IEC unit: `512M`, `4G`, `1T` (K, M, G, T are powers of 1024). */
export type Size = `${number}${"K" | "M" | "G" | "T"}`;

/**
 * A NixOS release name, `YY.05` or `YY.11` such as `"26.05"`: the value of a guest's
 * `system.stateVersion`. The type only guides the editor; validation accepts exactly two digits,
 * a dot and `05` or `11`.
 */
export type StateVersion = `${number}.${"05" | "11"}`;

/** The whole description: the nixpkgs to build with and every host. */
export interface HostsSpec {
  /**
   * Flake URL of nixpkgs, pinned by the generated flake's lock file.
   * @defaultValue `"github:NixOS/nixpkgs/nixos-26.05"`
   */
  readonly nixpkgs?: string;
  /** Hosts by name (the host's hostname: a lowercase DNS label). */
  readonly hosts: { readonly [name: string]: HostSpec };
}

/** A static IPv4 configuration. */
export interface StaticIPv4 {
  /** Addresses with prefix length, e.g. `["192.168.1.10/24"]`. */
  readonly addresses: readonly string[];
  /** Default gateway, e.g. `"192.168.1.1"`. */
  readonly gateway: string;
  /** DNS servers. @defaultValue `[]` */
  readonly dns?: readonly string[];
}

/** How the host joins its LAN: the NIC is enslaved to a bridge that carries the host's address. */
export interface LanSpec {
  /** The physical interface, e.g. `"enp0s31f6"`. It loses its own address to the bridge. */
  readonly nic: string;
  /** The bridge to create, e.g. `"vbridge0"`. */
  readonly bridge: string;
  /**
   * The host's address, on the bridge: `"dhcp"` or a static configuration.
   * @defaultValue `"dhcp"`
   */
  readonly address?: "dhcp" | StaticIPv4;
  /**
   * A fixed MAC for the bridge, e.g. the NIC's own, so an existing DHCP reservation keeps working.
   * @defaultValue none (the kernel picks one)
   */
  readonly bridgeMac?: string;
  /**
   * Keep bridged guest traffic out of the host's iptables (`br_netfilter`). Docker and other
   * firewalls set a FORWARD DROP policy that otherwise silently drops guest traffic.
   * @defaultValue `true`
   */
  readonly bypassHostFirewall?: boolean;
}

/**
 * A private network of the host's own: a bridge with no NIC of the host's on it. Guests join it
 * with a NIC (`nics: [{ network: "<name>" }]`).
 */
export type NetworkSpec = HostOnlyNetworkSpec | NatNetworkSpec;

/** Guests on it reach each other, and the host if it has an address there; nothing else. */
export interface HostOnlyNetworkSpec {
  readonly kind: "hostOnly";
  /** The bridge to create, e.g. `"vlab0"` (at most 15 characters). */
  readonly bridge: string;
  /**
   * The host's address on the bridge with its prefix length, e.g. `"10.78.0.1/24"`, in a private
   * range. No DHCP is served: guests set their own addresses.
   * @defaultValue none (the host is not on the network)
   */
  readonly address?: string;
}

/**
 * Guests get fixed addresses by DHCP from the host (dnsmasq), which is `.1` of the subnet,
 * answers DNS for guest names, and masquerades their traffic out through the LAN bridge.
 */
export interface NatNetworkSpec {
  readonly kind: "nat";
  /** The bridge to create, e.g. `"vnat0"` (at most 15 characters). */
  readonly bridge: string;
  /** A private IPv4 subnet, e.g. `"10.77.0.0/24"` (prefix 8–30); the host is its `.1`. */
  readonly subnet: string;
}

/** One NIC of a guest: a tap of its own on a network's bridge. */
export interface NicSpec {
  /** `"lan"` (the host's bridged LAN) or the name of one of the host's `networks`. */
  readonly network: string;
  /**
   * The NIC's tap (at most 15 characters). For the first NIC the guest's `tap` field says the
   * same; give it in one place.
   * @defaultValue the first NIC: the guest's tap; the n-th after it: `vm-<name>-<n>`, or a hash if too long
   */
  readonly tap?: string;
  /**
   * The NIC's MAC. For the first NIC the guest's `mac` field says the same.
   * @defaultValue the first NIC: the guest's MAC; the n-th after it: `52:54:00` + 3 bytes of SHA-256 of `<host>/<guest>/<n>`
   */
  readonly mac?: string;
  /**
   * On a `nat` network: the fixed address its DHCP lease gives this NIC, inside the subnet.
   * @defaultValue an address of the subnet picked from the guest's name (the same on every build)
   */
  readonly ipv4?: string;
}

/** One NixOS machine that runs guests. */
export interface HostSpec {
  /** @defaultValue `"x86_64-linux"` */
  readonly system?: "x86_64-linux" | "aarch64-linux";
  /** The bridged LAN the guests join. */
  readonly lan: LanSpec;
  /**
   * Private networks by name (a lowercase DNS label other than `lan`), each on a bridge of its
   * own: `hostOnly` or `nat`.
   * @defaultValue `{}`
   */
  readonly networks?: { readonly [name: string]: NetworkSpec };
  /** Public ssh keys installed for root in every guest of this host. @defaultValue `[]` */
  readonly sshKeys?: readonly string[];
  /**
   * Where guest disk images and logs live; must be under `/var/lib` (systemd creates it).
   * @defaultValue `"/var/lib/qemu-guests"`
   */
  readonly stateDir?: string;
  /**
   * The default of `offlineInstall` for this host's guests; see {@link GuestSpec.offlineInstall},
   * which states what it costs.
   * @defaultValue `false`
   */
  readonly offlineInstall?: boolean;
  /**
   * The default of `stateVersion` for this host's guests; see {@link GuestSpec.stateVersion},
   * which says why there is no default.
   *
   * Optional here because every guest may set its own; a guest with neither is a validation
   * error.
   * @defaultValue none
   */
  readonly stateVersion?: StateVersion;
  /**
   * The IOMMU kernel parameters PCI passthrough needs (only set when a guest has `pci`): `"intel"`
   * (`intel_iommu=on iommu=pt`), `"amd"` (`iommu=pt`; AMD-Vi is on when the firmware enables it)
   * or `"none"` (you set them yourself).
   * @defaultValue the CPU vendor whose microcode updates the host's hardware-configuration.nix turns on
   */
  readonly iommu?: "intel" | "amd" | "none";
  /** Guests by name (each guest's hostname: unique across all hosts). */
  readonly guests: { readonly [name: string]: GuestSpec };
}

/** A USB device of the host, handed to one guest: `{ vendor: "046d", product: "c52b" }`. */
export interface UsbDeviceSpec {
  /** Vendor ID, four hex digits as `lsusb` prints them before the colon, e.g. `"046d"`. */
  readonly vendor: string;
  /** Product ID, four hex digits as `lsusb` prints them after the colon, e.g. `"c52b"`. */
  readonly product: string;
  /** Only the device on this USB bus (`lsusb`'s `Bus 001` is 1), 1–255. @defaultValue any bus */
  readonly bus?: number;
  /**
   * Only the device on this port of `bus`: `"2"`, or `"1.4"` behind a hub (`lsusb -t`); needs
   * `bus`. @defaultValue any port
   */
  readonly port?: string;
}

/** One QEMU/KVM guest. */
export interface GuestSpec {
  /** Memory, e.g. `"1G"` (at least 128M, whole MiB). */
  readonly memory: Size;
  /** Disk size, e.g. `"40G"` (at least 1G). Growing it later grows the image; shrinking is refused. */
  readonly disk: Size;
  /** Virtual CPUs, 1–255. @defaultValue `1` */
  readonly cpus?: number;
  /** VNC display number (0–99) on 127.0.0.1, i.e. TCP port 5900 + n. @defaultValue no VNC */
  readonly vnc?: number;
  /**
   * Listen for VNC on this address instead of loopback. VNC has no password here: anyone who
   * reaches the address gets the console. @defaultValue `"127.0.0.1"`
   */
  readonly vncListenAddress?: string;
  /** The guest's tap interface (at most 15 characters). @defaultValue `vm-<name>`, or a hash if too long */
  readonly tap?: string;
  /** The guest's MAC. @defaultValue `52:54:00` + 3 bytes of SHA-256 of `<host>/<guest>` */
  readonly mac?: string;
  /** Start with the host. @defaultValue `true` */
  readonly autostart?: boolean;
  /** More public ssh keys for this guest, added to the host's. @defaultValue `[]` */
  readonly sshKeys?: readonly string[];
  /** Seconds the guest gets to power off before QEMU is told to quit. @defaultValue `120` */
  readonly shutdownTimeout?: number;
  /**
   * Install this guest without network. By default the first install puts the guest's declared
   * system (`nixosConfigurations.<guest>`) on its disk with `nixos-install --flake`, from this
   * flake's own files handed to the installer on the seed drive; that needs the guest's network
   * (DHCP on the bridge) to reach nixpkgs and a binary cache, and costs the host nothing at
   * evaluation time. With `offlineInstall`, the guest's whole system closure is carried in the
   * host's installer ISO and installed with `nixos-install --system`, with no network at all.
   *
   * The cost is evaluation: every evaluation of the host (each `nixos-rebuild` of it, each
   * `nix flake check`) then evaluates this guest's complete NixOS system as well. Measured with
   * nixpkgs 26.11 and Nix 2.8: a host with one guest evaluates in 8.6 s and 1.4 GB, with 20
   * network-install guests in 8.2 s and 1.5 GB, and with one network and one offline guest in
   * 11.8 s and 2.0 GB, so about 3–4 s and 600 MB more per offline guest. The installer ISO also
   * grows by the guest's closure and is rebuilt whenever the guest's system changes.
   * @defaultValue the host's `offlineInstall`, which defaults to `false`
   */
  readonly offlineInstall?: boolean;
  /**
   * Seconds the first install may take; then the installer VM is stopped and the install fails
   * (it is retried when the guest is started again). 60–86400.
   * @defaultValue `1800` (30 minutes)
   */
  readonly installTimeout?: number;
  /**
   * The NixOS release the guest was first installed with, `YY.05` or `YY.11` (e.g. `"26.05"`):
   * its `system.stateVersion`. It fixes the on-disk formats and data locations of stateful
   * services such as PostgreSQL, so it must stay what it was at the first install, whatever
   * nixpkgs the guest runs later. That is why vmflake has no default: a default would be
   * vmflake's, and upgrading vmflake would change it behind the user's back on guests that are
   * already installed. Set it once, here or on the host, and change it only after following the
   * release notes' migration steps.
   *
   * Optional in the type only because the host's `stateVersion` may give it; a guest with
   * neither is a validation error.
   * @defaultValue the host's `stateVersion`; no default beyond that
   */
  readonly stateVersion?: StateVersion;
  /**
   * The guest's firmware: `"bios"` (SeaBIOS, GRUB on an MBR disk) or `"uefi"` (OVMF from nixpkgs,
   * a GPT disk with an EFI system partition, systemd-boot, and the guest's own NVRAM variables
   * file). Fixed at install: the runtime records the firmware the image was installed with, and
   * a guest whose declared firmware differs refuses to start and says what to do.
   * @defaultValue `"bios"`
   */
  readonly firmware?: "bios" | "uefi";
  /**
   * A TPM 2.0 for the guest: one `swtpm` per guest, its state in the guest's state directory,
   * seen by the guest as a CRB TPM (`/dev/tpm0`). Needs `firmware: "uefi"`.
   * @defaultValue `false`
   */
  readonly tpm?: boolean;
  /**
   * A virtio balloon with free page reporting: memory the guest frees goes back to the host.
   * @defaultValue `true`
   */
  readonly memoryBalloon?: boolean;
  /** A static address for the guest; otherwise it uses DHCP. @defaultValue DHCP */
  readonly ipv4?: StaticIPv4;
  /**
   * PCI devices of the host handed to this guest with VFIO, by address as `lspci -D` prints it
   * (`DDDD:BB:DD.F`), e.g. `["0000:01:00.0"]`. Before the guest starts, each is bound to vfio-pci;
   * a device the host is using (a network interface that is up, a mounted disk) is refused. Needs
   * the IOMMU on in the firmware; see the README on which devices are safe to hand over.
   * @defaultValue `[]`
   */
  readonly pci?: readonly string[];
  /**
   * USB devices of the host handed to this guest, by vendor and product ID (and optionally bus and
   * port), e.g. `[{ vendor: "046d", product: "c52b" }]`. The guest takes the device whenever it is
   * plugged in. @defaultValue `[]`
   */
  readonly usb?: readonly UsbDeviceSpec[];
  /**
   * The guest's NICs, in the order the guest sees them; the first keeps the guest's `tap` and
   * `mac`. A guest with more than one CPU gets multiqueue virtio-net on each (a queue per CPU).
   * @defaultValue one NIC on `lan`
   */
  readonly nics?: readonly NicSpec[];
  /**
   * The guest's own extra NixOS settings, as plain values or `vmflake/dsl` expressions. They are
   * a module of their own in the guest's system, merged by the module system, never dropped.
   * Typed by the NixOS options of your nixpkgs once `npx vmflake types` has generated them.
   * @defaultValue `{}`
   */
  readonly config?: GuestConfig;
  /**
   * Extra data disks, by name: empty qcow2 images created on the guest's first start and grown
   * (never shrunk) when their size grows, like the root disk. The guest sees each as a virtio
   * disk `/dev/disk/by-id/virtio-<serial>`. Removing or renaming one here detaches it; its image
   * stays in the guest's state directory, never deleted.
   * @defaultValue `{}`
   */
  readonly disks?: { readonly [name: string]: DiskSpec };
  /**
   * Host directories shared into the guest, by tag (the name the guest mounts it by).
   * @defaultValue `{}`
   */
  readonly shares?: { readonly [tag: string]: ShareSpec };
}

/** A data disk of a guest. */
export interface DiskSpec {
  /** Virtual size, e.g. `"200G"` (at least 1M). Growing it grows the image; shrinking is refused. */
  readonly size: Size;
  /**
   * Where the guest mounts it, an absolute path such as `"/srv"`. A blank disk gets a file
   * system on its first mount; a disk holding anything is never formatted.
   * @defaultValue none: attached, not mounted
   */
  readonly mountPoint?: string;
  /** The file system made on a blank disk, with `mountPoint`. @defaultValue `"ext4"` */
  readonly fsType?: "ext4" | "xfs" | "btrfs";
  /**
   * The virtio serial (at most 20 characters: letters, digits, `.`, `_`, `-`), unique in the
   * guest. @defaultValue the disk's name
   */
  readonly serial?: string;
}

/** A host directory shared into a guest. */
export interface ShareSpec {
  /** The host directory, an absolute path such as `"/srv/media"`, not in the Nix store. */
  readonly source: string;
  /** Where the guest mounts it, an absolute path such as `"/media"`. */
  readonly mountPoint: string;
  /** The guest may only read; enforced on the host side too. @defaultValue `false` */
  readonly readOnly?: boolean;
  /**
   * `"virtiofs"` (a sandboxed `virtiofsd` per share, fast, needs virtiofsd on the host) or
   * `"9p"` (QEMU's built-in virtio-9p: no daemon, slower).
   * @defaultValue `"virtiofs"`
   */
  readonly protocol?: "virtiofs" | "9p";
}

/**
 * Define hosts with full type checking: an identity function, like Vite's `defineConfig`, so the
 * editor completes every field and flags typos.
 */
export function defineHosts(spec: HostsSpec): HostsSpec {
  return spec;
}
