/**
 * What people write in `hosts.ts`: NixOS hosts and the QEMU/KVM guests each one runs.
 * Every field is checked again at run time by `validate.ts` (unknown fields included), so a
 * typo is an error even when the editor did not catch it.
 */
import type { NixValue } from "../dsl/index.ts";

/** A size with an IEC unit: `512M`, `4G`, `1T` (K, M, G, T are powers of 1024). */
export type Size = `${number}${"K" | "M" | "G" | "T"}`;

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

/** One NixOS machine that runs guests. */
export interface HostSpec {
  /** @defaultValue `"x86_64-linux"` */
  readonly system?: "x86_64-linux" | "aarch64-linux";
  /** The bridged LAN the guests join. */
  readonly lan: LanSpec;
  /** Public ssh keys installed for root in every guest of this host. @defaultValue `[]` */
  readonly sshKeys?: readonly string[];
  /**
   * Where guest disk images and logs live; must be under `/var/lib` (systemd creates it).
   * @defaultValue `"/var/lib/qemu-guests"`
   */
  readonly stateDir?: string;
  /** Guests by name (each guest's hostname: unique across all hosts). */
  readonly guests: { readonly [name: string]: GuestSpec };
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
  /** A static address for the guest; otherwise it uses DHCP. @defaultValue DHCP */
  readonly ipv4?: StaticIPv4;
  /**
   * The guest's own extra NixOS settings, as plain values or `vmflake/dsl` expressions. They are
   * a module of their own in the guest's system, merged by the module system, never dropped.
   * @defaultValue `{}`
   */
  readonly config?: { readonly [option: string]: NixValue };
}

/**
 * Define hosts with full type checking: an identity function, like Vite's `defineConfig`, so the
 * editor completes every field and flags typos.
 */
export function defineHosts(spec: HostsSpec): HostsSpec {
  return spec;
}
