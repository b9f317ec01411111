/**
 * The picture of a description as a graph (for `topology.svg`): the LAN, each host with its NIC
 * and bridges, each guest with what identifies it on the network and on the host, and the wires
 * between them (a guest's tap to its bridge). Only words and structure; sizes and places come from
 * layout.ts. A host lists its bridges and a guest its links, so more of each add no new shape.
 */
import type { ResolvedGuest, ResolvedHost, ResolvedIPv4, ResolvedSpec } from "../model.ts";
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

/** A guest: its NIC (tap and MAC, where its wire enters) and address first, then its size. */
function guestBox(id: string, g: ResolvedGuest): TopologyBox {
  const lines = [
    `${g.tap} ${g.mac}`,
    ...(g.ipv4 === undefined ? ["IPv4 by DHCP"] : addresses(g.ipv4)),
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
  ];
  if (!g.autostart) lines.push("starts by hand");
  return { id, kind: "guest", title: g.name, lines, ports: [{ id: `${id}-nic0`, line: 0 }] };
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
  const guests = h.guests.map((g, j) => {
    const box = guestBox(`${id}-g${j}`, g);
    links.push({ id: `${box.id}-tap`, from: bridge.id, to: box.id, toPort: box.ports![0]!.id });
    return box;
  });
  const count = `${h.guests.length} guest${h.guests.length === 1 ? "" : "s"}`;
  return {
    id,
    title: h.name,
    subtitle: `${h.system}, ${count}, images in ${h.stateDir}`,
    boxes: [nic, bridge, ...guests],
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
