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
/** The fields of a network whose kind is missing or wrong: those of either kind. */
const ANY_NETWORK_FIELDS = [...new Set([...HOST_ONLY_FIELDS, ...NAT_FIELDS])];
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

/**
 * What is known of one of the host's networks whatever else is wrong with it, so that the checks
 * that need only part of it (its bridge, its kind, a valid subnet) still run.
 */
export interface KnownNetwork {
  readonly name: string;
  /** Undefined when the kind is missing or wrong. */
  readonly kind: ResolvedNetwork["kind"] | undefined;
  /** Undefined when missing or not a valid interface name. */
  readonly bridge: string | undefined;
  /** A NAT network's subnet, only when it has no problem of its own. */
  readonly subnet: ResolvedNetwork["subnet"];
}

/** The host's networks: resolved when none has a problem, and what is known of each either way. */
export interface HostNetworks {
  readonly resolved: ResolvedNetwork[] | undefined;
  readonly known: readonly KnownNetwork[];
}

/** A network with its path and, when its subnet or address is valid, its address block. */
interface Placed {
  readonly known: KnownNetwork;
  readonly path: string;
  readonly range?: readonly [number, number];
  /** Set when the network has no problem of its own. */
  readonly network?: ResolvedNetwork;
}

/**
 * The host's networks (`value` is its `networks` field). Checks names, kinds, bridges (interface
 * names, unique, not the LAN's NIC or bridge) and address blocks (private, not overlapping each
 * other or the LAN's static addresses); each check runs whatever is wrong with the other fields.
 */
export function resolveNetworks(
  p: Problems,
  value: unknown,
  path: string,
  lan: ResolvedHost["lan"] | undefined,
): HostNetworks {
  if (value === undefined) return { resolved: [], known: [] };
  if (!isPlainObject(value)) {
    p.add(path, "must be an object of networks by name");
    return { resolved: undefined, known: [] };
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
    placed.push(network(p, raw, at, name));
  }
  const bridges = new Map<string, string>();
  for (const { known: n, path: at } of placed) {
    if (n.bridge === undefined) continue;
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
    const field = `${a.path}.${a.known.kind === "nat" ? "subnet" : "address"}`;
    for (const b of placed.slice(0, i)) {
      if (b.range !== undefined && overlap(a.range, b.range)) {
        p.add(field, `overlaps the addresses of network ${b.known.name}`);
      }
    }
    for (const l of lanBlocks) {
      if (overlap(a.range, l.range)) p.add(field, `overlaps the LAN's static address ${l.text}`);
    }
  });
  const known = placed.map((x) => x.known);
  if (p.list.length > before) return { resolved: undefined, known };
  return { resolved: placed.map((x) => x.network!), known };
}

function overlap(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[0] <= b[1] && b[0] <= a[1];
}

/** A valid subnet or address and its block. */
interface Block {
  readonly cidr: { address: string; prefixLength: number };
  readonly range: readonly [number, number];
}

/** `value` as a string in CIDR notation (/8 to /30) with its block; undefined, reported, if not. */
function cidrField(
  p: Problems,
  value: unknown,
  at: string,
): { text: string; block: Block } | undefined {
  const text = string(p, value, at);
  if (text === undefined) return undefined;
  const c = cidr(text, 8, 30);
  if (typeof c === "string") {
    p.add(at, c);
    return undefined;
  }
  return { text, block: { cidr: c, range: block(c.address, c.prefixLength) } };
}

/** `given` when its block is private, else undefined with the reason reported. */
function privateBlock(
  p: Problems,
  at: string,
  given: { text: string; block: Block },
  ok: boolean,
): Block | undefined {
  const why = privateProblem(given.text, given.block.range);
  if (why) p.add(at, why);
  return ok && !why ? given.block : undefined;
}

/**
 * A NAT network's `subnet`: a private block given by its network address. Host bits and a
 * public block are independent mistakes, so both are reported.
 */
function subnetField(p: Problems, value: unknown, at: string): Block | undefined {
  if (value === undefined) {
    p.add(at, 'is missing; give a private IPv4 subnet such as "10.77.0.0/24"');
    return undefined;
  }
  const given = cidrField(p, value, at);
  if (given === undefined) return undefined;
  const { cidr: c, range } = given.block;
  const hostBits = ip(c.address) !== range[0];
  if (hostBits) {
    p.add(
      at,
      `${show(given.text)} has host bits set; the subnet is ${quad(range[0])}/${c.prefixLength}`,
    );
  }
  return privateBlock(p, at, given, !hostBits);
}

/** A host-only network's `address`: the host's, inside a private block, neither of its ends. */
function addressField(p: Problems, value: unknown, at: string): Block | undefined {
  const given = cidrField(p, value, at);
  if (given === undefined) return undefined;
  const { cidr: c, range } = given.block;
  const n = ip(c.address);
  const end = n === range[0] || n === range[1];
  if (end) {
    p.add(
      at,
      `${show(given.text)} is the ${n === range[0] ? "network" : "broadcast"} address of its subnet; give the host an address inside it such as ${quad(range[0] + 1)}/${c.prefixLength}`,
    );
  }
  return privateBlock(p, at, given, !end);
}

/** One network with what is known of it; `network` is set when it has no problem. */
function network(p: Problems, raw: unknown, at: string, name: string): Placed {
  const unknown: Placed = {
    known: { name, kind: undefined, bridge: undefined, subnet: undefined },
    path: at,
  };
  if (!isPlainObject(raw)) {
    p.add(at, 'must be an object such as { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" }');
    return unknown;
  }
  const before = p.list.length;
  const given = raw.kind;
  const kind = (KINDS as readonly unknown[]).includes(given)
    ? (given as (typeof KINDS)[number])
    : undefined;
  if (kind === undefined) {
    p.add(
      `${at}.kind`,
      given === undefined
        ? `is missing; give one of ${KINDS.join(", ")}`
        : `${show(given)} is not one of ${KINDS.join(", ")}`,
    );
  }
  // Without a kind, only fields that neither kind has are unknown.
  const fields =
    kind === "nat" ? NAT_FIELDS : kind === "hostOnly" ? HOST_ONLY_FIELDS : ANY_NETWORK_FIELDS;
  const o = object(p, raw, at, fields) as {
    readonly bridge?: unknown;
    readonly subnet?: unknown;
    readonly address?: unknown;
  };
  // Both kinds need a bridge, so it is checked whatever the kind.
  const bridge =
    o.bridge === undefined
      ? (p.add(`${at}.bridge`, 'is missing; name the bridge to create, e.g. "vnat0"'), undefined)
      : ifname(p, o.bridge, `${at}.bridge`, "bridge");
  if (kind === undefined) {
    // Each of these fields belongs to one kind, so its value is checked by that kind's rules;
    // the overlap checks wait for a valid kind.
    if (o.subnet !== undefined) subnetField(p, o.subnet, `${at}.subnet`);
    if (o.address !== undefined) addressField(p, o.address, `${at}.address`);
    return { ...unknown, known: { ...unknown.known, bridge } };
  }
  const b =
    kind === "nat"
      ? subnetField(p, o.subnet, `${at}.subnet`)
      : o.address === undefined
        ? undefined
        : addressField(p, o.address, `${at}.address`);
  const known: KnownNetwork = { name, kind, bridge, subnet: kind === "nat" ? b?.cidr : undefined };
  const placed: Placed = { known, path: at, ...(b ? { range: b.range } : {}) };
  if (p.list.length > before || bridge === undefined) return placed;
  if (kind === "hostOnly") {
    return { ...placed, network: { name, kind, bridge, ...(b ? { address: b.cidr } : {}) } };
  }
  if (b === undefined) return placed;
  const address = { address: quad(b.range[0] + 1), prefixLength: b.cidr.prefixLength };
  return { ...placed, network: { name, kind, bridge, address, subnet: b.cidr } };
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
  /** What is known of the host's networks, right or wrong. */
  readonly networks: readonly KnownNetwork[];
  /** The names of the host's networks as given, right or wrong. */
  readonly networkNames: readonly string[];
  /** The guest's own `tap` and `mac` fields, as resolved (the first NIC's). */
  readonly tap: { readonly given: boolean; readonly value: string | undefined };
  readonly mac: { readonly given: boolean; readonly value: string | undefined };
  /** Where the fixed addresses asked for on NAT networks are recorded, for {@link checkLeases}. */
  readonly leases: DeclaredLease[];
}

/** A fixed address a NIC asks for on a NAT network, with no problem of its own. */
export interface DeclaredLease {
  readonly guest: string;
  /** The NIC's path. */
  readonly path: string;
  readonly network: string;
  readonly ipv4: string;
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
    // "lan" is the bridged LAN even when a network is wrongly called so.
    const net = network === LAN_NETWORK ? undefined : ctx.networks.find((n) => n.name === network);
    if (network !== undefined && network !== LAN_NETWORK && !ctx.networkNames.includes(network)) {
      const known = [LAN_NETWORK, ...ctx.networkNames.filter((n) => n !== LAN_NETWORK)].join(", ");
      p.add(`${at}.network`, `${show(network)} is not a network of this host (${known})`);
    }
    const tap = nicTap(ctx, o.tap, at, i);
    const mac = nicMac(ctx, o.mac, at, i);
    let ipv4: string | undefined;
    if (o.ipv4 !== undefined) {
      // A network that serves no leases makes the value moot, so that is said first; whether the
      // address lies inside the subnet is asked only of a valid subnet.
      if (network === LAN_NETWORK) {
        p.add(
          `${at}.ipv4`,
          "the LAN's addresses come from the LAN's DHCP server; use the guest's ipv4 field for a static one",
        );
      } else if (net?.kind === "hostOnly") {
        p.add(
          `${at}.ipv4`,
          `network ${net.name} is host-only and serves no DHCP; set the guest's address in its own configuration`,
        );
      } else {
        const a = string(p, o.ipv4, `${at}.ipv4`);
        if (a !== undefined && !IPV4.test(a)) {
          p.add(`${at}.ipv4`, `${show(a)} is not an IPv4 address such as 10.77.0.10`);
        } else if (a !== undefined) {
          ipv4 =
            net?.subnet && leaseProblem(p, `${at}.ipv4`, a, net.name, net.subnet) ? undefined : a;
        }
      }
    }
    if (ipv4 !== undefined && network !== undefined && net?.kind === "nat") {
      ctx.leases.push({ guest: ctx.guest, path: at, network, ipv4 });
    }
    if (network === undefined) return [];
    return [{ path: at, network, tap, mac, ...(ipv4 === undefined ? {} : { ipv4 }) }];
  });
}

/** Reports why `a` cannot be a lease of `net` (outside, the network or broadcast, the host's). */
function leaseProblem(
  p: Problems,
  at: string,
  a: string,
  name: string,
  subnet: NonNullable<ResolvedNetwork["subnet"]>,
): boolean {
  const { address, prefixLength } = subnet;
  const [first, last] = block(address, prefixLength);
  const n = ip(a);
  if (n < first || n > last) {
    p.add(at, `${a} is not inside network ${name}'s subnet ${address}/${prefixLength}`);
  } else if (n === first || n === last) {
    p.add(at, `${a} is the ${n === first ? "network" : "broadcast"} address of ${name}`);
  } else if (n === first + 1) {
    p.add(at, `${a} is the host's own address on ${name}`);
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
 * The fixed addresses asked for on each NAT network must be unique. Needs no valid subnet, so it
 * runs whatever else is wrong with the host, its networks or its guests.
 */
export function checkLeases(p: Problems, leases: readonly DeclaredLease[]): void {
  const owners = new Map<string, string>();
  for (const l of leases) {
    const key = `${l.network}/${l.ipv4}`;
    const owner = owners.get(key);
    if (owner !== undefined)
      p.add(`${l.path}.ipv4`, `${l.ipv4} is already the address of ${owner}`);
    else owners.set(key, `guest ${l.guest}`);
  }
}

/**
 * Fixed leases on the host's NAT networks (declared ones are unique, see {@link checkLeases}):
 * every other NIC on a NAT network gets one from its subnet, picked from a hash of the guest's
 * name and NIC number (the next free one after a clash), in the order of guest names, so builds
 * agree. Returns the guests with their leases, or undefined after reporting.
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
    const taken = new Set<number>([first + 1]);
    const on = guests.flatMap((g) =>
      g.nics.flatMap((nic, i) => (nic.network === net.name ? [{ g, nic, i }] : [])),
    );
    for (const { nic } of on) {
      if (nic.ipv4 !== undefined) taken.add(ip(nic.ipv4));
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
      taken.add(n);
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
