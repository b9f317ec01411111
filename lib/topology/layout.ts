/**
 * Sizes and places for the topology graph: a layered layout made for its one fixed shape. Left to
 * right, the LAN, then for each host its NIC, its bridges (the LAN's first, then each private
 * network's) and its guests, each a column in declaration order; hosts stack top to bottom. Wires
 * are orthogonal and run only in the gaps between columns, each bridge's guest wires on a vertical
 * track of their own, so no wire crosses a box. One pass over the boxes and one over the wires:
 * linear in guests, and the same input always gives the same numbers.
 */
import type { TopologyBox, TopologyGraph, TopologyHost, TopologyLink } from "./graph.ts";
import { TEXT, boxSize, lineY, textWidth } from "./text-metrics.ts";
import { type Point, orthogonalWire } from "./wires.ts";

export type { Point } from "./wires.ts";

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export type PlacedBox = TopologyBox & Rect;

export interface PlacedHost extends Rect {
  readonly id: string;
  readonly title: string;
  readonly subtitle: string;
  readonly boxes: readonly PlacedBox[];
}

export interface PlacedLink {
  readonly id: string;
  readonly points: readonly Point[];
  /** A NAT network's routed way out rather than a cable. */
  readonly routed: boolean;
}

/** The graph with every box, host frame, wire and label placed (absolute coordinates, px). */
export interface TopologyLayout {
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly lan: PlacedBox;
  readonly hosts: readonly PlacedHost[];
  readonly links: readonly PlacedLink[];
}

/** Distances in px. */
const SPACE = {
  /** Around the page's content, and inside a host's frame. */
  margin: 16,
  /** Between two boxes of a column, and between two host frames. */
  box: 24,
  /** Between two columns of a host. */
  column: 48,
  /** From the LAN to the host frames. */
  lan: 56,
  /** Between two bridges' vertical tracks. */
  track: 8,
  /** From a column's edge to the first track in the gap beside it. */
  trackInset: 16,
} as const;

/** Where the LAN's wire enters a NIC and the NIC's leaves it for its bridge, from their tops. */
const UPLINK_Y = 24;

/**
 * Where a bridge's guest wires leave it, from its top. The LAN bridge's is level with a guest's
 * first NIC line, so the wire to a guest beside it is straight. The others' sit half a grid step
 * off every NIC line (boxes and lines are on an 8 px grid), so the stretch from a private
 * network's bridge to its track never lies on top of another bridge's wire into a guest.
 */
const exitY = (bridgeIndex: number): number => lineY(0) + (bridgeIndex === 0 ? 0 : 4);

interface HostPlan {
  readonly host: PlacedHost;
  /** Bridge id → the x of its guest wires' vertical track. */
  readonly tracks: ReadonlyMap<string, number>;
  /** Bridge id → the y its guest wires leave it at. */
  readonly exits: ReadonlyMap<string, number>;
}

/** Boxes one under another from `top`, left-aligned at `x`. */
function column(boxes: readonly TopologyBox[], x: number, top: number): PlacedBox[] {
  let y = top;
  return boxes.map((b) => {
    const size = boxSize(b);
    const placed = { ...b, x, y, ...size };
    y += size.height + SPACE.box;
    return placed;
  });
}

const right = (r: Rect): number => r.x + r.width;
const bottom = (r: Rect): number => r.y + r.height;
const widest = (boxes: readonly Rect[], x: number): number => Math.max(x, ...boxes.map(right));

/** A host's frame at (`x`, `y`) with its columns: NIC, bridges, guests. */
function placeHost(h: TopologyHost, x: number, y: number): HostPlan {
  const top = y + TEXT.hostHeader;
  const left = x + SPACE.margin;
  const nics = column(
    h.boxes.filter((b) => b.kind === "nic"),
    left,
    top,
  );
  const bridgesX = widest(nics, left) + SPACE.column;
  const bridges = column(
    h.boxes.filter((b) => b.kind === "bridge"),
    bridgesX,
    top,
  );
  const bridgesRight = widest(bridges, bridgesX);
  const tracks = new Map<string, number>();
  const exits = new Map<string, number>();
  for (const [i, b] of bridges.entries()) {
    tracks.set(b.id, bridgesRight + SPACE.trackInset + i * SPACE.track);
    exits.set(b.id, b.y + exitY(i));
  }
  // Room for every track, and as much again on the guests' side as before the first.
  const tracksWidth = 2 * SPACE.trackInset + Math.max(0, bridges.length - 1) * SPACE.track;
  const guestsX = bridgesRight + Math.max(SPACE.column, tracksWidth);
  const guests = column(
    h.boxes.filter((b) => b.kind === "guest"),
    guestsX,
    top,
  );
  const placed = new Map([...nics, ...bridges, ...guests].map((b) => [b.id, b]));
  const boxes = h.boxes.map((b) => placed.get(b.id)!);
  const contentRight = widest(boxes, left);
  const contentBottom = Math.max(top, ...boxes.map(bottom));
  const width = Math.max(
    contentRight + SPACE.margin - x,
    Math.ceil(textWidth(h.title, 15) + 2 * SPACE.margin),
    Math.ceil(textWidth(h.subtitle, TEXT.size) + 2 * SPACE.margin),
  );
  return {
    host: {
      id: h.id,
      title: h.title,
      subtitle: h.subtitle,
      x,
      y,
      width,
      height: contentBottom + SPACE.margin - y,
      boxes,
    },
    tracks,
    exits,
  };
}

/** Lays the graph out. */
export function layoutTopology(graph: TopologyGraph): TopologyLayout {
  const lanX = SPACE.margin;
  const lanSize = boxSize(graph.lan);
  const hostsX = lanX + lanSize.width + SPACE.lan;
  const plans: HostPlan[] = [];
  let y = TEXT.pageHeader + SPACE.margin;
  for (const h of graph.hosts) {
    const plan = placeHost(h, hostsX, y);
    plans.push(plan);
    y = bottom(plan.host) + SPACE.box;
  }
  const hosts = plans.map((p) => p.host);
  // Level with the first host's NIC wire, so that wire is straight.
  const firstNic = hosts[0]?.boxes.find((b) => b.kind === "nic");
  const lanY =
    firstNic === undefined
      ? TEXT.pageHeader + SPACE.margin
      : firstNic.y + UPLINK_Y - lanSize.height / 2;
  const lan: PlacedBox = { ...graph.lan, x: lanX, y: lanY, ...lanSize };

  const boxes = new Map<string, PlacedBox>([[lan.id, lan]]);
  for (const h of hosts) for (const b of h.boxes) boxes.set(b.id, b);
  const tracks = new Map(plans.flatMap((p) => [...p.tracks]));
  const exits = new Map(plans.flatMap((p) => [...p.exits]));
  const links = graph.links.map((l) => placeLink(l, boxes, tracks, exits));

  const page = [lan, ...hosts];
  return {
    width: Math.max(
      widest(page, 0) + SPACE.margin,
      Math.ceil(textWidth(graph.title, 15) + 2 * SPACE.margin),
    ),
    height: Math.max(...page.map(bottom)) + SPACE.margin,
    title: graph.title,
    lan,
    hosts,
    links,
  };
}

/** A link's wire, routed by the kinds of box it joins (the graph has no other kind of link). */
function placeLink(
  l: TopologyLink,
  boxes: ReadonlyMap<string, PlacedBox>,
  tracks: ReadonlyMap<string, number>,
  exits: ReadonlyMap<string, number>,
): PlacedLink {
  const from = boxes.get(l.from)!;
  const to = boxes.get(l.to)!;
  const wire = (points: Point[]): PlacedLink => ({ id: l.id, points, routed: l.routed ?? false });
  const intoSide = { x: to.x, y: to.y + UPLINK_Y };
  if (from.kind === "lan" || from.kind === "nic") {
    // The LAN's trunk to every host's NIC, or a NIC to its bridge, which is level with it.
    const start = {
      x: right(from),
      y: from.y + (from.kind === "lan" ? from.height / 2 : UPLINK_Y),
    };
    return wire(orthogonalWire(start, right(from) + SPACE.box, intoSide));
  }
  if (from.kind === "bridge" && to.kind === "bridge") {
    // A NAT network's way out: left of the bridges, below the NIC's wire that enters the LAN's.
    const start = { x: from.x, y: bottom(from) - SPACE.margin };
    return wire(orthogonalWire(start, from.x - SPACE.margin, intoSide));
  }
  if (from.kind === "bridge" && to.kind === "guest") {
    const port = to.ports?.find((p) => p.id === l.toPort);
    const end = { x: to.x, y: to.y + (port === undefined ? UPLINK_Y : lineY(port.line)) };
    return wire(
      orthogonalWire({ x: right(from), y: exits.get(from.id)! }, tracks.get(from.id)!, end),
    );
  }
  throw new Error(`no way to draw a wire from a ${from.kind} to a ${to.kind} (${l.id})`);
}
