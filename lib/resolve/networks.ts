/**
 * A host's private networks (`networks`: host-only and NAT bridges) and its guests' NICs on them:
 * names, bridges, subnets and fixed DHCP leases, with every problem reported at its path.
 */
import { createHash } from "node:crypto";
import { fieldList, isPlainObject, list, object, string } from "../fields.ts";
import { deriveMac, macProblem } from "../mac.ts";
import {
  LAN_NETWORK,
  type ResolvedGuest,
  type ResolvedHost,
  type ResolvedNetwork,
  type ResolvedNic,
} from "../model.ts";
import { HOSTNAME, defaultTap } from "../names.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import type { HostOnlyNetworkSpec, NatNetworkSpec, NicSpec } from "../spec.ts";
import { IPV4 } from "./ipv4.ts";
import { ifname } from "./values.ts";

/** The fields of a host-only network. */
export const HOST_ONLY_FIELDS = fieldList<HostOnlyNetworkSpec>()(["kind", "bridge", "address"]);
/** The fields of a NAT network. */
export const NAT_FIELDS = fieldList<NatNetworkSpec>()(["kind", "bridge", "subnet"]);
/** The fields of a guest's NIC. */
export const NIC_FIELDS = fieldList<NicSpec>()(["network", "tap", "mac", "ipv4"]);

const KINDS = ["hostOnly", "nat"] as const;

/** The private IPv4 ranges of RFC 1918, as [first, last]. */
const PRIVATE: readonly (readonly [number, number, string])[] = [
  [ip("10.0.0.0"), ip("10.255.255.255"), "10.0.0.0/8"],
  [ip("172.16.0.0"), ip("172.31.255.255"), "172.16.0.0/12"],
  [ip("192.168.0.0"), ip("192.168.255.255"), "192.168.0.0/16"],
];

/** A dotted quad as an unsigned 32-bit number (expects a valid one). */
function ip(a: string): number {
  return a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** The dotted quad of an unsigned 32-bit number. */
function quad(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The first and last address of the block of `address/prefix`. */
function block(address: string, prefix: number): readonly [number, number] {
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ip(address) / size) * size;
  return [first, first + size - 1];
}

/** `a.b.c.d/p`, or why not. */
function cidr(
  value: string,
  minPrefix: number,
  maxPrefix: number,
): { address: string; prefixLength: number } | string {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(value);
  if (m === null || !IPV4.test(m[1]!)) {
    return `${show(value)} is not an IPv4 address with a prefix length such as 10.77.0.0/24`;
  }
  const prefixLength = Number(m[2]);
  if (prefixLength < minPrefix || prefixLength > maxPrefix) {
    return `${show(value)}: the prefix length must be from ${minPrefix} to ${maxPrefix}`;
  }
  return { address: m[1]!, prefixLength };
}

/** Why the block is not inside one private range, or undefined. */
function privateProblem(value: string, range: readonly [number, number]): string | undefined {
  if (PRIVATE.some(([lo, hi]) => range[0] >= lo && range[1] <= hi)) return undefined;
  return `${show(value)} is not inside a private range (${PRIVATE.map((r) => r[2]).join(", ")}); a network of the host's must not shadow addresses of the internet`;
}

/** A network with its path and address block, for the overlap checks. */
interface Placed {
  readonly network: ResolvedNetwork;
  readonly path: string;
  readonly range?: readonly [number, number];
}

/**
 * The host's networks (`value` is its `networks` field), or undefined after reporting. Checks
 * names, kinds, bridges (interface names, unique, not the LAN's NIC or bridge) and address blocks
 * (private, not overlapping each other or the LAN's static addresses).
 */
export function resolveNetworks(
  p: Problems,
  value: unknown,
  path: string,
  lan: ResolvedHost["lan"] | undefined,
): ResolvedNetwork[] | undefined {
  if (value === undefined) return [];
  if (!isPlainObject(value)) {
    p.add(path, "must be an object of networks by name");
    return undefined;
  }
  const before = p.list.length;
  const placed: Placed[] = [];
  for (const [name, raw] of Object.entries(value)) {
    const at = joinPath(path, name);
    if (name === LAN_NETWORK) {
      p.add(at, `${show(name)} is the host's bridged LAN (the lan field); choose another name`);
    } else if (!HOSTNAME.test(name)) {
      p.add(at, `${show(name)} is not a valid network name: use a lowercase DNS label`);
    }
    const n = network(p, raw, at, name);
    if (n !== undefined) placed.push(n);
  }
  const bridges = new Map<string, string>();
  for (const { network: n, path: at } of placed) {
    const other = bridges.get(n.bridge);
    if (other !== undefined) {
      p.add(`${at}.bridge`, `${show(n.bridge)} is already the bridge of network ${other}`);
    } else bridges.set(n.bridge, n.name);
    if (lan !== undefined && (n.bridge === lan.nic || n.bridge === lan.bridge)) {
      p.add(
        `${at}.bridge`,
        `${show(n.bridge)} is the host's LAN ${n.bridge === lan.nic ? "NIC" : "bridge"}; a network needs a bridge of its own`,
      );
    }
  }
  const lanBlocks =
    lan === undefined || lan.address === "dhcp"
      ? []
      : lan.address.addresses.map((a) => ({
          text: `${a.address}/${a.prefixLength}`,
          range: block(a.address, a.prefixLength),
        }));
  placed.forEach((a, i) => {
    if (a.range === undefined) return;
    const field = `${a.path}.${a.network.kind === "nat" ? "subnet" : "address"}`;
    for (const b of placed.slice(0, i)) {
      if (b.range !== undefined && overlap(a.range, b.range)) {
        p.add(field, `overlaps the addresses of network ${b.network.name}`);
      }
    }
    for (const l of lanBlocks) {
      if (overlap(a.range, l.range)) p.add(field, `overlaps the LAN's static address ${l.text}`);
    }
  });
  if (p.list.length > before) return undefined;
  return placed.map((x) => x.network);
}

function overlap(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[0] <= b[1] && b[0] <= a[1];
}

/** One network, or undefined after reporting. */
function network(p: Problems, raw: unknown, at: string, name: string): Placed | undefined {
  if (!isPlainObject(raw)) {
    p.add(at, 'must be an object such as { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" }');
    return undefined;
  }
  const kind = raw.kind;
  if (kind === undefined || !(KINDS as readonly unknown[]).includes(kind)) {
    p.add(
      `${at}.kind`,
      kind === undefined
        ? `is missing; give one of ${KINDS.join(", ")}`
        : `${show(kind)} is not one of ${KINDS.join(", ")}`,
    );
    return undefined;
  }
  const o = object(p, raw, at, kind === "nat" ? NAT_FIELDS : HOST_ONLY_FIELDS);
  if (o === undefined) return undefined;
  const bridge =
    o.bridge === undefined
      ? (p.add(`${at}.bridge`, 'is missing; name the bridge to create, e.g. "vnat0"'), undefined)
      : ifname(p, o.bridge, `${at}.bridge`, "bridge");
  if (kind === "nat") {
    const nat = o as { readonly subnet?: unknown };
    if (nat.subnet === undefined) {
      p.add(`${at}.subnet`, 'is missing; give a private IPv4 subnet such as "10.77.0.0/24"');
      return undefined;
    }
    const s = string(p, nat.subnet, `${at}.subnet`);
    if (s === undefined) return undefined;
    const c = cidr(s, 8, 30);
    if (typeof c === "string") {
      p.add(`${at}.subnet`, c);
      return undefined;
    }
    const range = block(c.address, c.prefixLength);
    if (ip(c.address) !== range[0]) {
      p.add(
        `${at}.subnet`,
        `${show(s)} has host bits set; the subnet is ${quad(range[0])}/${c.prefixLength}`,
      );
      return undefined;
    }
    const why = privateProblem(s, range);
    if (why) {
      p.add(`${at}.subnet`, why);
      return undefined;
    }
    if (bridge === undefined) return undefined;
    return {
      network: {
        name,
        kind,
        bridge,
        address: { address: quad(range[0] + 1), prefixLength: c.prefixLength },
        subnet: c,
      },
      path: at,
      range,
    };
  }
  const hostOnly = o as { readonly address?: unknown };
  let address: { address: string; prefixLength: number } | undefined;
  let range: readonly [number, number] | undefined;
  if (hostOnly.address !== undefined) {
    const s = string(p, hostOnly.address, `${at}.address`);
    if (s === undefined) return undefined;
    const c = cidr(s, 8, 30);
    if (typeof c === "string") {
      p.add(`${at}.address`, c);
      return undefined;
    }
    range = block(c.address, c.prefixLength);
    const n = ip(c.address);
    if (n === range[0] || n === range[1]) {
      p.add(
        `${at}.address`,
        `${show(s)} is the ${n === range[0] ? "network" : "broadcast"} address of its subnet; give the host an address inside it such as ${quad(range[0] + 1)}/${c.prefixLength}`,
      );
      return undefined;
    }
    const why = privateProblem(s, range);
    if (why) {
      p.add(`${at}.address`, why);
      return undefined;
    }
    address = c;
  }
  if (bridge === undefined) return undefined;
  return {
    network: { name, kind: "hostOnly", bridge, ...(address ? { address } : {}) },
    path: at,
    ...(range ? { range } : {}),
  };
}

/** A guest's NIC as validated, before its lease is assigned. */
export interface NicDraft {
  readonly path: string;
  readonly network: string;
  readonly tap: string | undefined;
  readonly mac: string | undefined;
  readonly ipv4?: string;
}

/** The default tap of a guest's NIC number `index` (0 is the guest's own tap). */
export function defaultNicTap(guest: string, index: number): string {
  if (index === 0) return defaultTap(guest);
  const plain = `vm-${guest}-${index}`;
  if (plain.length <= 15) return plain;
  const digits = 15 - "vm--".length - String(index).length;
  return `vm-${createHash("sha256").update(guest).digest("hex").slice(0, digits)}-${index}`;
}

/** The default MAC of a guest's NIC number `index` (0 is the guest's own MAC). */
export function defaultNicMac(host: string, guest: string, index: number): string {
  return index === 0 ? deriveMac(host, guest) : deriveMac(host, `${guest}/${index}`);
}

/** What a guest's NICs are resolved against. */
export interface NicContext {
  readonly problems: Problems;
  readonly host: string;
  readonly guest: string;
  /** The guest's path. */
  readonly path: string;
  /** The host's networks (undefined when they were wrong). */
  readonly networks: readonly ResolvedNetwork[] | undefined;
  /** The names of the host's networks as given, right or wrong. */
  readonly networkNames: readonly string[];
  /** The guest's own `tap` and `mac` fields, as resolved (the first NIC's). */
  readonly tap: { readonly given: boolean; readonly value: string | undefined };
  readonly mac: { readonly given: boolean; readonly value: string | undefined };
}

/**
 * The guest's NICs (`value` is its `nics` field): one on `lan` with the guest's tap and MAC when
 * it gives none. Every problem is reported; NICs with one are still returned, with undefined
 * taps or MACs, so that the uniqueness checks see the others.
 */
export function resolveNics(ctx: NicContext, value: unknown): NicDraft[] {
  const { problems: p, path } = ctx;
  if (value === undefined) {
    return [{ path, network: LAN_NETWORK, tap: ctx.tap.value, mac: ctx.mac.value }];
  }
  const items = list(p, value, `${path}.nics`);
  if (items === undefined) return [];
  if (items.length === 0) {
    p.add(`${path}.nics`, 'is empty; give at least one NIC, e.g. [{ network: "lan" }]');
    return [];
  }
  return items.flatMap((raw, i) => {
    const at = joinPath(`${path}.nics`, i);
    const o = object(p, raw, at, NIC_FIELDS);
    if (o === undefined) return [];
    let network: string | undefined;
    if (o.network === undefined) p.add(`${at}.network`, `is missing; give "lan" or a network name`);
    else network = string(p, o.network, `${at}.network`);
    const net = ctx.networks?.find((n) => n.name === network);
    if (network !== undefined && network !== LAN_NETWORK && !ctx.networkNames.includes(network)) {
      const known = [LAN_NETWORK, ...ctx.networkNames.filter((n) => n !== LAN_NETWORK)].join(", ");
      p.add(`${at}.network`, `${show(network)} is not a network of this host (${known})`);
    }
    const tap = nicTap(ctx, o.tap, at, i);
    const mac = nicMac(ctx, o.mac, at, i);
    let ipv4: string | undefined;
    if (o.ipv4 !== undefined) {
      const a = string(p, o.ipv4, `${at}.ipv4`);
      if (a !== undefined && !IPV4.test(a)) {
        p.add(`${at}.ipv4`, `${show(a)} is not an IPv4 address such as 10.77.0.10`);
      } else if (a !== undefined && net !== undefined && net.kind !== "nat") {
        p.add(
          `${at}.ipv4`,
          `network ${net.name} is host-only and serves no DHCP; set the guest's address in its own configuration`,
        );
      } else if (a !== undefined && network === LAN_NETWORK) {
        p.add(
          `${at}.ipv4`,
          "the LAN's addresses come from the LAN's DHCP server; use the guest's ipv4 field for a static one",
        );
      } else if (a !== undefined && net?.subnet !== undefined) {
        ipv4 = leaseProblem(p, `${at}.ipv4`, a, net) ? undefined : a;
      }
    }
    if (network === undefined) return [];
    return [{ path: at, network, tap, mac, ...(ipv4 === undefined ? {} : { ipv4 }) }];
  });
}

/** Reports why `a` cannot be a lease of `net` (outside, the network or broadcast, the host's). */
function leaseProblem(p: Problems, at: string, a: string, net: ResolvedNetwork): boolean {
  const { address, prefixLength } = net.subnet!;
  const [first, last] = block(address, prefixLength);
  const n = ip(a);
  if (n < first || n > last) {
    p.add(at, `${a} is not inside network ${net.name}'s subnet ${address}/${prefixLength}`);
  } else if (n === first || n === last) {
    p.add(at, `${a} is the ${n === first ? "network" : "broadcast"} address of ${net.name}`);
  } else if (n === first + 1) {
    p.add(at, `${a} is the host's own address on ${net.name}`);
  } else return false;
  return true;
}

function nicTap(ctx: NicContext, value: unknown, at: string, i: number): string | undefined {
  if (i === 0 && value !== undefined && ctx.tap.given) {
    ctx.problems.add(
      `${at}.tap`,
      "the guest's tap field already names the first NIC's tap; give it in one place",
    );
    return undefined;
  }
  if (value !== undefined) return ifname(ctx.problems, value, `${at}.tap`, "tap interface");
  return i === 0 ? ctx.tap.value : defaultNicTap(ctx.guest, i);
}

function nicMac(ctx: NicContext, value: unknown, at: string, i: number): string | undefined {
  if (i === 0 && value !== undefined && ctx.mac.given) {
    ctx.problems.add(
      `${at}.mac`,
      "the guest's mac field already gives the first NIC's MAC; give it in one place",
    );
    return undefined;
  }
  if (value === undefined) return i === 0 ? ctx.mac.value : defaultNicMac(ctx.host, ctx.guest, i);
  const m = string(ctx.problems, value, `${at}.mac`);
  const why = m === undefined ? undefined : macProblem(m.toLowerCase());
  if (why) ctx.problems.add(`${at}.mac`, why);
  return m === undefined || why ? undefined : m.toLowerCase();
}

/** A NIC of a resolved guest, with where it was declared. */
export interface PlacedNic {
  readonly guest: string;
  readonly path: string;
  readonly nic: ResolvedNic;
}

/**
 * Fixed leases on the host's NAT networks: declared addresses must be unique; every other NIC on
 * a NAT network gets one from its subnet, picked from a hash of the guest's name and NIC number
 * (the next free one after a clash), in the order of guest names, so builds agree. Returns the
 * guests with their leases, or undefined after reporting.
 */
export function assignLeases(
  p: Problems,
  networks: readonly ResolvedNetwork[],
  guests: readonly ResolvedGuest[],
  paths: ReadonlyMap<ResolvedNic, string>,
): ResolvedGuest[] | undefined {
  const before = p.list.length;
  const leases = new Map<ResolvedNic, string>();
  for (const net of networks) {
    if (net.subnet === undefined) continue;
    const [first, last] = block(net.subnet.address, net.subnet.prefixLength);
    const taken = new Map<number, string>([[first + 1, "the host"]]);
    const on = guests.flatMap((g) =>
      g.nics.flatMap((nic, i) => (nic.network === net.name ? [{ g, nic, i }] : [])),
    );
    for (const { g, nic } of on) {
      if (nic.ipv4 === undefined) continue;
      const owner = taken.get(ip(nic.ipv4));
      const at = `${paths.get(nic) ?? g.name}.ipv4`;
      if (owner !== undefined) p.add(at, `${nic.ipv4} is already the address of ${owner}`);
      else taken.set(ip(nic.ipv4), `guest ${g.name}`);
    }
    const free = last - first - 2;
    const pending = on
      .filter(({ nic }) => nic.ipv4 === undefined)
      .sort((a, b) => (a.g.name < b.g.name ? -1 : a.g.name > b.g.name ? 1 : a.i - b.i));
    for (const { g, nic, i } of pending) {
      if (taken.size - 1 >= free) {
        p.add(
          paths.get(nic) ?? g.name,
          `network ${net.name}'s subnet ${net.subnet.address}/${net.subnet.prefixLength} has no free address left for this NIC; use a larger subnet`,
        );
        continue;
      }
      const h = createHash("sha256").update(`${g.name}/${i}`).digest().readUInt32BE(0);
      let n = first + 2 + (h % free);
      while (taken.has(n)) n = n + 1 > last - 1 ? first + 2 : n + 1;
      taken.set(n, `guest ${g.name}`);
      leases.set(nic, quad(n));
    }
  }
  if (p.list.length > before) return undefined;
  return guests.map((g) =>
    g.nics.some((nic) => leases.has(nic))
      ? {
          ...g,
          nics: g.nics.map((nic) => (leases.has(nic) ? { ...nic, ipv4: leases.get(nic)! } : nic)),
        }
      : g,
  );
}
