/**
 * Sizes and places for the topology graph, from the ELK layered layout (elkjs): left to right,
 * the LAN, each host's NIC, its bridge, its guests, with orthogonal wires. Text is measured as
 * monospace (every character the same advance), so sizes need no font at build time and the
 * result is the same on every machine; ELK's layout is deterministic for the same input.
 */
import ELK from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import type { TopologyBox, TopologyGraph, TopologyHost } from "./graph.ts";

/** Text metrics the drawing uses too: sizes in px, a monospace advance of 0.61 em. */
export const TEXT = {
  size: 12,
  titleSize: 13,
  lineHeight: 16,
  advance: 0.61,
  padding: 8,
  /** Room above a host's boxes for its name and subtitle. */
  hostHeader: 44,
  /** Room above everything for the picture's title. */
  pageHeader: 36,
} as const;

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
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

/** The baseline of a box's line `i` (-1 is the title), from the box's top. */
export function baseline(i: number): number {
  return TEXT.padding + TEXT.titleSize - 1 + (i + 1) * TEXT.lineHeight;
}

/** Width of a text in px at a font size. */
export function textWidth(text: string, size: number): number {
  return [...text].length * size * TEXT.advance;
}

function boxSize(b: TopologyBox): { width: number; height: number } {
  if (b.kind === "lan") return { width: 120, height: 40 };
  const width = Math.max(
    textWidth(b.title, TEXT.titleSize),
    ...b.lines.map((l) => textWidth(l, TEXT.size)),
  );
  return {
    width: Math.ceil(width + 2 * TEXT.padding),
    height: (b.lines.length + 1) * TEXT.lineHeight + 2 * TEXT.padding,
  };
}

const ROOT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.spacing.nodeNode": "24",
  "elk.layered.spacing.nodeNodeBetweenLayers": "56",
  // A tree in declaration order: one sweep finds no crossing to remove, and segments placement
  // keeps each box's wires straight; both cost a fraction of the defaults with many guests.
  "elk.layered.thoroughness": "1",
  "elk.layered.nodePlacement.strategy": "LINEAR_SEGMENTS",
  "elk.padding": "[top=16,left=16,bottom=16,right=16]",
  "elk.json.shapeCoords": "ROOT",
  "elk.json.edgeCoords": "ROOT",
};

/** The links with both ends in a host: ELK wants each edge in its ends' common parent. */
function linksInside(h: TopologyHost, links: TopologyGraph["links"]): TopologyGraph["links"] {
  const inside = new Set(h.boxes.map((b) => b.id));
  return links.filter((l) => inside.has(l.from) && inside.has(l.to));
}

function hostNode(h: TopologyHost, links: TopologyGraph["links"]): ElkNode {
  const subtitleWidth = textWidth(h.subtitle, TEXT.size) + 2 * TEXT.padding;
  return {
    id: h.id,
    layoutOptions: {
      "elk.padding": `[top=${TEXT.hostHeader},left=16,bottom=16,right=16]`,
      "elk.spacing.nodeNode": "24",
      "elk.layered.spacing.nodeNodeBetweenLayers": "48",
      "elk.nodeSize.constraints": "MINIMUM_SIZE",
      "elk.nodeSize.minimum": `(${Math.ceil(subtitleWidth)},0)`,
    },
    children: h.boxes.map(elkBox),
    edges: linksInside(h, links).map(elkEdge),
  };
}

/** A box, with its ports fixed on its left side level with their lines. */
function elkBox(b: TopologyBox): ElkNode {
  if (b.ports === undefined) return { id: b.id, ...boxSize(b) };
  return {
    id: b.id,
    ...boxSize(b),
    layoutOptions: { "elk.portConstraints": "FIXED_POS" },
    ports: b.ports.map((p) => ({
      id: p.id,
      x: 0,
      y: baseline(p.line) - 4,
      width: 0,
      height: 0,
      layoutOptions: { "elk.port.side": "WEST" },
    })),
  };
}

function elkEdge(l: TopologyGraph["links"][number]): ElkExtendedEdge {
  return { id: l.id, sources: [l.from], targets: [l.toPort ?? l.to] };
}

const round = (v: number | undefined): number => Math.round((v ?? 0) * 10) / 10;

function rect(n: { x?: number; y?: number; width?: number; height?: number }, dy: number): Rect {
  return {
    x: round(n.x),
    y: round((n.y ?? 0) + dy),
    width: round(n.width),
    height: round(n.height),
  };
}

/** Lays the graph out. */
export async function layoutTopology(graph: TopologyGraph): Promise<TopologyLayout> {
  const inHosts = new Set(graph.hosts.flatMap((h) => linksInside(h, graph.links)));
  const elk = new ELK();
  const input: ElkNode = {
    id: "root",
    layoutOptions: ROOT_OPTIONS,
    children: [
      { id: graph.lan.id, ...boxSize(graph.lan) },
      ...graph.hosts.map((h) => hostNode(h, graph.links)),
    ],
    edges: graph.links.filter((l) => !inHosts.has(l)).map(elkEdge),
  };
  const root: ElkNode = await elk.layout(input);
  const dy = TEXT.pageHeader;
  const nodes = new Map<string, ElkNode>();
  const edges = new Map<string, ElkExtendedEdge>();
  const walk = (n: ElkNode): void => {
    nodes.set(n.id, n);
    for (const e of n.edges ?? []) edges.set(e.id, e);
    for (const c of n.children ?? []) walk(c);
  };
  walk(root);
  const placed = (b: TopologyBox): PlacedBox => ({ ...b, ...rect(nodes.get(b.id)!, dy) });
  return {
    width: Math.ceil(root.width ?? 0),
    height: Math.ceil((root.height ?? 0) + dy),
    title: graph.title,
    lan: placed(graph.lan),
    hosts: graph.hosts.map((h) => ({
      id: h.id,
      title: h.title,
      subtitle: h.subtitle,
      ...rect(nodes.get(h.id)!, dy),
      boxes: h.boxes.map(placed),
    })),
    links: graph.links.map((l) => {
      const e = edges.get(l.id)!;
      const points: Point[] = [];
      for (const s of e.sections ?? []) {
        points.push(s.startPoint, ...(s.bendPoints ?? []), s.endPoint);
      }
      return {
        id: l.id,
        points: points.map((p) => ({ x: round(p.x), y: round(p.y + dy) })),
        routed: l.routed ?? false,
      };
    }),
  };
}
