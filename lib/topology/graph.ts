/**
 * The picture of a description as a graph (for `topology.svg`): the LAN, each host with its NIC
 * and bridges, each guest with what identifies it on the network and on the host, and the wires
 * between them (each NIC's tap to its network's bridge, a NAT network's bridge to the LAN's). Only words and structure; sizes and places come from
 * layout.ts. A host lists its bridges and a guest its links, so more of each add no new shape.
 */
import {
  LAN_NETWORK,
  type ResolvedGuest,
  type ResolvedHost,
  type ResolvedIPv4,
  type ResolvedNetwork,
  type ResolvedSpec,
} from "../model.ts";
import { formatSize } from "../sizes.ts";

/** What a box stands for; the drawing styles each kind. */
export type BoxKind = "lan" | "nic" | "bridge" | "guest";

/** A box of text: a title and detail lines. */
export interface TopologyBox {
  /** Unique in the graph; made of indexes, never of user names. */
  readonly id: string;
  readonly kind: BoxKind;
  readonly title: string;
  readonly lines: readonly string[];
  /** Where wires enter at a line of the box (a guest's NIC), rather than anywhere on it. */
  readonly ports?: readonly TopologyPort[];
}

/** A point on a box's left side, level with one of its lines. */
export interface TopologyPort {
  readonly id: string;
  /** Index into the box's `lines`. */
  readonly line: number;
}

/** A host: a frame around its NIC, bridges and guests. */
export interface TopologyHost {
  readonly id: string;
  readonly title: string;
  readonly subtitle: string;
  readonly boxes: readonly TopologyBox[];
}

/** A wire between two boxes; at a port of the second one, if given. */
export interface TopologyLink {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly toPort?: string;
  /** Not a cable: a NAT network's traffic routed out through the LAN bridge. */
  readonly routed?: boolean;
}

export interface TopologyGraph {
  readonly title: string;
  readonly lan: TopologyBox;
  readonly hosts: readonly TopologyHost[];
  readonly links: readonly TopologyLink[];
}

function addresses(ip: ResolvedIPv4, prefix = ""): string[] {
  return [
    ...ip.addresses.map((a) => `${prefix}IPv4 ${a.address}/${a.prefixLength}`),
    `${prefix}gateway ${ip.gateway}`,
  ];
}

/**
 * A guest: each NIC (tap and MAC, where its wire enters) with its address, then its size. The
 * guest's own `ipv4` is that of its NIC on the LAN; a NAT NIC shows its fixed lease.
 */
function guestBox(id: string, g: ResolvedGuest): TopologyBox {
  const lines: string[] = [];
  const ports: TopologyPort[] = [];
  for (const [k, nic] of g.nics.entries()) {
    ports.push({ id: `${id}-nic${k}`, line: lines.length });
    lines.push(`${nic.tap} ${nic.mac}`);
    if (nic.network === LAN_NETWORK) {
      lines.push(...(g.ipv4 === undefined ? ["IPv4 by DHCP"] : addresses(g.ipv4)));
    } else if (nic.ipv4 !== undefined) lines.push(`IPv4 ${nic.ipv4} (lease)`);
  }
  lines.push(
    `${g.cpus} vCPU${g.cpus === 1 ? "" : "s"}, memory ${formatSize(g.memoryBytes)}`,
    `disk ${formatSize(g.diskBytes)}`,
    ...g.disks.map(
      (d) =>
        `disk ${d.name} ${formatSize(d.bytes)}${d.mount === undefined ? "" : ` at ${d.mount.mountPoint}`}`,
    ),
    ...g.shares.map(
      (sh) =>
        `share ${sh.source} at ${sh.mountPoint} (${sh.protocol}${sh.readOnly ? ", read-only" : ""})`,
    ),
    g.vnc === undefined
      ? "no VNC"
      : `VNC ${g.vnc.address}:${g.vnc.display} (port ${5900 + g.vnc.display})`,
  );
  if (!g.autostart) lines.push("starts by hand");
  return { id, kind: "guest", title: g.name, lines, ports };
}

/** A private network's bridge: what kind, and the host's address on it. */
function networkBox(id: string, n: ResolvedNetwork): TopologyBox {
  const cidr = (a: { address: string; prefixLength: number }) => `${a.address}/${a.prefixLength}`;
  return {
    id,
    kind: "bridge",
    title: n.bridge,
    lines: [
      `${n.kind === "nat" ? "NAT" : "host-only"} network ${n.name}`,
      ...(n.subnet === undefined ? [] : [`subnet ${cidr(n.subnet)}`]),
      n.address === undefined ? "host: not on it" : `host: IPv4 ${cidr(n.address)}`,
    ],
  };
}

function hostOf(h: ResolvedHost, i: number, links: TopologyLink[]): TopologyHost {
  const id = `h${i}`;
  const nic: TopologyBox = { id: `${id}-nic`, kind: "nic", title: h.lan.nic, lines: ["host NIC"] };
  const bridge: TopologyBox = {
    id: `${id}-br0`,
    kind: "bridge",
    title: h.lan.bridge,
    lines: [
      "bridge",
      ...(h.lan.address === "dhcp" ? ["host: IPv4 by DHCP"] : addresses(h.lan.address, "host: ")),
      ...(h.lan.bridgeMac === undefined ? [] : [`MAC ${h.lan.bridgeMac}`]),
    ],
  };
  links.push({ id: `${id}-uplink`, from: "lan", to: nic.id });
  links.push({ id: `${id}-port`, from: nic.id, to: bridge.id });
  const bridges = new Map([[LAN_NETWORK, bridge]]);
  for (const [k, n] of h.networks.entries()) {
    const box = networkBox(`${id}-net${k}`, n);
    bridges.set(n.name, box);
    if (n.kind === "nat") {
      links.push({ id: `${box.id}-nat`, from: bridge.id, to: box.id, routed: true });
    }
  }
  const guests = h.guests.map((g, j) => {
    const box = guestBox(`${id}-g${j}`, g);
    for (const [k, n] of g.nics.entries()) {
      const from = bridges.get(n.network)!.id;
      links.push({ id: `${box.id}-nic${k}`, from, to: box.id, toPort: box.ports![k]!.id });
    }
    return box;
  });
  const count = `${h.guests.length} guest${h.guests.length === 1 ? "" : "s"}`;
  return {
    id,
    title: h.name,
    subtitle: `${h.system}, ${count}, images in ${h.stateDir}`,
    boxes: [nic, ...bridges.values(), ...guests],
  };
}

/** The graph of a resolved description. */
export function topologyGraph(spec: ResolvedSpec, source: string): TopologyGraph {
  const links: TopologyLink[] = [];
  const hosts = spec.hosts.map((h, i) => hostOf(h, i, links));
  return {
    title: `vmflake: the hosts and guests of ${source}`,
    lan: { id: "lan", kind: "lan", title: "LAN", lines: [] },
    hosts,
    links,
  };
}
