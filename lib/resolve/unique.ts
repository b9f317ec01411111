/**
 * What must not clash across guests and hosts. Every host and guest records its identities while
 * it is resolved, whatever else is wrong with it, so that clashes are reported in the same run as
 * the other problems.
 */
import type { Obj } from "../fields.ts";
import type { ResolvedHost } from "../model.ts";
import { type Problems, show } from "../problems.ts";
import type { DeviceClaim } from "./passthrough.ts";

/** What must be unique, recorded for every host and guest whatever else is wrong with them. */
export interface Identities {
  readonly hosts: {
    readonly name: string;
    readonly lan: ResolvedHost["lan"];
    /** The bridges of the host's networks. */
    readonly bridges: readonly string[];
  }[];
  readonly guests: {
    readonly host: string;
    readonly name: string;
    readonly path: string;
    readonly tap: string | undefined;
    readonly mac: string | undefined;
    readonly display: number | undefined;
    /** Whether it has data disks (then `qemu-guest-<name>-disks.service` prepares them). */
    readonly disks?: boolean;
  }[];
  /** Host devices handed to guests (checked by passthrough.ts). */
  readonly devices: DeviceClaim[];
  /** Guests' NICs after their first (whose tap and MAC are the guest's own, in `guests`). */
  readonly nics: {
    readonly host: string;
    readonly guest: string;
    readonly path: string;
    readonly tap: string | undefined;
    readonly mac: string | undefined;
  }[];
}

/**
 * Names, taps, VNC displays and MACs that must not clash: guest names and MACs across all hosts
 * (they share a LAN; bridge MACs included), displays and taps per host (taps also distinct from
 * the host's NIC and bridge).
 */
export function checkUnique(p: Problems, ids: Identities, rawHosts: Obj): void {
  const names = new Map<string, string>();
  const macs = new Map<string, string>();
  const displays = new Map<string, string>();
  const taps = new Map<string, string>();
  for (const h of ids.hosts) {
    if (h.lan.bridgeMac !== undefined) macs.set(h.lan.bridgeMac, `the bridge of host ${h.name}`);
  }
  // The MAC and tap of a NIC (`path` is where they were given): unique across the description,
  // respectively per host, and no tap may be a bridge or the NIC of its host.
  const nic = (host: string, owner: string, path: string, tap?: string, mac?: string): void => {
    if (mac !== undefined) {
      const macOwner = macs.get(mac);
      if (macOwner !== undefined) {
        p.add(
          `${path}.mac`,
          `${mac} is also the MAC of ${macOwner}; set a different mac explicitly`,
        );
      } else macs.set(mac, path);
    }
    if (tap === undefined) return;
    const other = taps.get(`${host}/${tap}`);
    if (other !== undefined) {
      p.add(`${path}.tap`, `${show(tap)} is already the tap of guest ${other} on this host`);
    } else taps.set(`${host}/${tap}`, owner);
    const h = ids.hosts.find((x) => x.name === host);
    if (h !== undefined && (tap === h.lan.nic || tap === h.lan.bridge)) {
      p.add(
        `${path}.tap`,
        `${show(tap)} is the host's ${tap === h.lan.nic ? "NIC" : "bridge"}; a guest needs a tap of its own`,
      );
    } else if (h?.bridges.includes(tap)) {
      p.add(
        `${path}.tap`,
        `${show(tap)} is the bridge of one of the host's networks; a guest needs a tap of its own`,
      );
    }
  };
  for (const g of ids.guests) {
    const owner = names.get(g.name);
    if (owner !== undefined) {
      p.add(
        g.path,
        `guest name ${show(g.name)} is also used on host ${owner}; guests are hostnames on a LAN, so names must be unique`,
      );
    } else names.set(g.name, g.host);
    // qemu-guest-<name>-install.service is guest <name>'s first install (and -disks its data
    // disks' unit): a guest called "<name>-install" on the same host would get that unit name
    // too, and lose its own unit.
    for (const [suffix, what] of [
      ["-install", "the first install"],
      ["-disks", "the data disks"],
    ] as const) {
      const of = g.name.endsWith(suffix) ? g.name.slice(0, -suffix.length) : "";
      const other = ids.guests.find((o) => o.host === g.host && o.name === of);
      if (other !== undefined && (suffix === "-install" || other.disks === true)) {
        p.add(
          g.path,
          `${show(g.name)} would share the unit name qemu-guest-${g.name}.service with ${what} of guest ${of}; choose another name`,
        );
      }
    }
    if (Object.hasOwn(rawHosts, g.name)) {
      p.add(g.path, `${show(g.name)} is also a host name; hostnames must be unique`);
    }
    if (g.display !== undefined) {
      const other = displays.get(`${g.host}/${g.display}`);
      if (other !== undefined) {
        p.add(
          `${g.path}.vnc`,
          `display ${g.display} is already used by guest ${other} on this host`,
        );
      } else displays.set(`${g.host}/${g.display}`, g.name);
    }
    nic(g.host, g.name, g.path, g.tap, g.mac);
  }
  for (const n of ids.nics) nic(n.host, n.guest, n.path, n.tap, n.mac);
}
