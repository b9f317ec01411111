/**
 * The topology layout's promises, for the example, the networks example, random descriptions and
 * 1,000 guests: columns left to right (LAN, NIC, bridges, guests) in declaration order; no two
 * boxes overlapping; host frames holding their boxes and not each other; every wire orthogonal,
 * touching the boxes it joins at their sides (a guest's at its NIC's line) and crossing no box;
 * the same output for the same input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HostsSpec, resolveSpec } from "../../lib/index.ts";
import { type TopologyGraph, topologyGraph } from "../../lib/topology/graph.ts";
import {
  type PlacedBox,
  type Point,
  type Rect,
  type TopologyLayout,
  layoutTopology,
} from "../../lib/topology/layout.ts";
import { lineY } from "../../lib/topology/text-metrics.ts";
import { RICH_SPEC } from "../nixos/support.ts";
import { NETWORKS_SPEC } from "../support/networks-spec.ts";

const right = (r: Rect): number => r.x + r.width;
const bottom = (r: Rect): number => r.y + r.height;
const inside = (inner: Rect, outer: Rect): boolean =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  right(inner) <= right(outer) &&
  bottom(inner) <= bottom(outer);
const overlap = (a: Rect, b: Rect): boolean =>
  a.x < right(b) && b.x < right(a) && a.y < bottom(b) && b.y < bottom(a);
/** On the box's left or right side. */
const onSide = (p: Point, r: Rect): boolean =>
  (p.x === r.x || p.x === right(r)) && p.y >= r.y && p.y <= bottom(r);
/** Whether the segment a–b (horizontal or vertical) passes through the inside of the box. */
const crosses = (a: Point, b: Point, r: Rect): boolean =>
  Math.max(a.x, b.x) > r.x &&
  Math.min(a.x, b.x) < right(r) &&
  Math.max(a.y, b.y) > r.y &&
  Math.min(a.y, b.y) < bottom(r);

/** Every promise of the layout of `graph`, checked; the number of failures is in the message. */
function checkLayout(graph: TopologyGraph, l: TopologyLayout): void {
  const page = { x: 0, y: 0, width: l.width, height: l.height };
  const boxes: PlacedBox[] = [l.lan, ...l.hosts.flatMap((h) => h.boxes)];
  const byId = new Map(boxes.map((b) => [b.id, b]));
  expect(l.hosts.map((h) => h.id)).toEqual(graph.hosts.map((h) => h.id));
  expect(inside(l.lan, page)).toBe(true);

  for (const [i, h] of l.hosts.entries()) {
    expect(h.boxes.map((b) => b.id)).toEqual(graph.hosts[i]!.boxes.map((b) => b.id));
    expect(inside(h, page), `${h.id} on the page`).toBe(true);
    expect(overlap(h, l.lan), `${h.id} clear of the LAN`).toBe(false);
    expect(h.x, `${h.id} right of the LAN`).toBeGreaterThan(right(l.lan));
    if (i > 0)
      expect(h.y, `${h.id} below the host before`).toBeGreaterThan(bottom(l.hosts[i - 1]!));
    for (const b of h.boxes) expect(inside(b, h), `${b.id} inside ${h.id}`).toBe(true);

    // Columns left to right, each top to bottom in the graph's order.
    const of = (kind: string) => h.boxes.filter((b) => b.kind === kind);
    const [nics, bridges, guests] = [of("nic"), of("bridge"), of("guest")];
    const columns = [nics, bridges, guests].filter((c) => c.length > 0);
    for (const [k, c] of columns.entries()) {
      expect(new Set(c.map((b) => b.x)).size, `${h.id} column ${k} aligned`).toBe(1);
      for (const [j, b] of c.entries()) {
        if (j > 0) expect(b.y, b.id).toBeGreaterThanOrEqual(bottom(c[j - 1]!));
      }
      if (k > 0) {
        expect(c[0]!.x, `${h.id} column ${k}`).toBeGreaterThan(
          Math.max(...columns[k - 1]!.map(right)),
        );
      }
    }
  }

  // No two boxes overlap; sorted by x, each is compared only with those that start left of its end.
  const sorted = [...boxes].sort((a, b) => a.x - b.x || a.y - b.y);
  for (const [i, a] of sorted.entries()) {
    for (const b of sorted.slice(i + 1)) {
      if (b.x >= right(a)) break;
      if (overlap(a, b)) expect.fail(`${a.id} overlaps ${b.id}`);
    }
  }

  expect(l.links.map((w) => w.id)).toEqual(graph.links.map((k) => k.id));
  for (const [i, link] of graph.links.entries()) {
    const wire = l.links[i]!;
    const [from, to] = [byId.get(link.from)!, byId.get(link.to)!];
    const points = wire.points;
    expect(points.length, link.id).toBeGreaterThanOrEqual(2);
    expect(wire.routed).toBe(link.routed ?? false);
    expect(onSide(points[0]!, from), `${link.id} starts at ${from.id}`).toBe(true);
    expect(onSide(points.at(-1)!, to), `${link.id} ends at ${to.id}`).toBe(true);
    if (link.toPort !== undefined) {
      const port = to.ports!.find((p) => p.id === link.toPort)!;
      expect(points.at(-1), `${link.id} at its line`).toEqual({
        x: to.x,
        y: to.y + lineY(port.line),
      });
    }
    for (let k = 1; k < points.length; k++) {
      const [a, b] = [points[k - 1]!, points[k]!];
      expect(a.x === b.x || a.y === b.y, `${link.id} orthogonal`).toBe(true);
      for (const box of boxes) {
        if (crosses(a, b, box)) expect.fail(`${link.id} crosses ${box.id}`);
      }
    }
  }
}

/** `hosts` hosts of `guests` guests each, every fourth with a second NIC on a host-only network. */
function manyGuests(hosts: number, guests: number): HostsSpec {
  return {
    hosts: Object.fromEntries(
      Array.from({ length: hosts }, (_, h) => [
        `h${h}`,
        {
          lan: { nic: "eth0", bridge: "br0" },
          stateVersion: "26.05",
          networks: {
            lab: { kind: "hostOnly", bridge: "vlab0" },
            nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/16" },
          },
          guests: Object.fromEntries(
            Array.from({ length: guests }, (_, g) => [
              `g${h}x${g}`,
              {
                memory: "1G",
                disk: `${10 + (g % 50)}G`,
                nics: [
                  { network: g % 3 === 2 ? "nat" : "lan" },
                  ...(g % 4 === 0 ? [{ network: "lab" }] : []),
                ],
              },
            ]),
          ),
        },
      ]),
    ),
  };
}

describe("topology layout", () => {
  it("keeps its promises for the example and the networks example", () => {
    for (const spec of [RICH_SPEC, NETWORKS_SPEC]) {
      const graph = topologyGraph(resolveSpec(spec), "hosts.ts");
      checkLayout(graph, layoutTopology(graph));
    }
  });

  it("puts a guest level with its bridge straight beside it, and the LAN level with the first NIC", () => {
    const l = layoutTopology(topologyGraph(resolveSpec(RICH_SPEC), "hosts.ts"));
    for (const h of l.hosts) {
      const first = h.boxes.find((b) => b.kind === "guest")!;
      expect(l.links.find((w) => w.id === `${first.id}-nic0`)!.points).toHaveLength(2);
    }
    expect(l.links.find((w) => w.id === "h0-uplink")!.points).toHaveLength(2);
  });

  it("gives the same layout for the same graph, and for a copy of it", () => {
    const graph = topologyGraph(resolveSpec(NETWORKS_SPEC), "hosts.ts");
    const once = layoutTopology(graph);
    expect(layoutTopology(graph)).toEqual(once);
    expect(layoutTopology(structuredClone(graph))).toEqual(once);
  });

  it("lays out 1,000 guests, on one host or ten", () => {
    for (const [hosts, guests] of [
      [1, 1000],
      [10, 100],
    ] as const) {
      const graph = topologyGraph(resolveSpec(manyGuests(hosts, guests)), "hosts.ts");
      const l = layoutTopology(graph);
      expect(l.hosts.flatMap((h) => h.boxes).filter((b) => b.kind === "guest")).toHaveLength(1000);
      checkLayout(graph, l);
    }
  });

  it("keeps its promises for random descriptions", () => {
    const guest = fc.record({
      nics: fc.array(fc.nat(3), { minLength: 1, maxLength: 3 }),
      disks: fc.nat(2),
      autostart: fc.boolean(),
    });
    const host = fc.record({
      networks: fc.array(fc.constantFrom("hostOnly", "nat"), { maxLength: 3 }),
      guests: fc.array(guest, { maxLength: 6 }),
      nic: fc.constantFrom("eth0", "enp0s31f6-long"),
    });
    fc.assert(
      fc.property(fc.array(host, { minLength: 1, maxLength: 3 }), (hosts) => {
        const spec: HostsSpec = {
          hosts: Object.fromEntries(
            hosts.map((h, i) => [
              `host${i}`,
              {
                lan: { nic: h.nic.slice(0, 15), bridge: "br0" },
                stateVersion: "26.05",
                networks: Object.fromEntries(
                  h.networks.map((kind, k) => [
                    `n${k}`,
                    kind === "nat"
                      ? { kind, bridge: `vnat${k}`, subnet: `10.${70 + k}.0.0/24` }
                      : { kind, bridge: `vlab${k}` },
                  ]),
                ),
                guests: Object.fromEntries(
                  h.guests.map((g, j) => [
                    `guest${i}x${j}`,
                    {
                      memory: "1G",
                      disk: "8G",
                      autostart: g.autostart,
                      // Each NIC on the LAN or one of the host's networks, none twice.
                      nics: [
                        ...new Set(
                          g.nics.map((n) =>
                            n === 0 || h.networks.length === 0
                              ? "lan"
                              : `n${(n - 1) % h.networks.length}`,
                          ),
                        ),
                      ].map((network) => ({ network })),
                      disks: Object.fromEntries(
                        Array.from({ length: g.disks }, (_, d) => [`data${d}`, { size: "1G" }]),
                      ),
                    },
                  ]),
                ),
              },
            ]),
          ),
        };
        const graph = topologyGraph(resolveSpec(spec), "hosts.ts");
        checkLayout(graph, layoutTopology(graph));
      }),
      { numRuns: 200, seed: 1 },
    );
  });
});
