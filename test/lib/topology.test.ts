/**
 * topology.svg: well-formed XML (parsed by test/support/xml.ts) holding every host, NIC, bridge,
 * guest, tap, MAC, size and VNC display as text; laid out without overlaps, each guest inside its
 * host and wired to its bridge; the same bytes on every build; owned by the build (`--check`
 * compares it, a file of the user's own is never replaced).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { topologySvg, xmlText } from "../../cli/topology-svg.ts";
import { resolveSpec } from "../../lib/index.ts";
import { topologyGraph } from "../../lib/topology/graph.ts";
import { type Rect, layoutTopology } from "../../lib/topology/layout.ts";
import { baseline } from "../../lib/topology/text-metrics.ts";
import { RICH_SPEC } from "../nixos/support.ts";
import { NETWORKS_SPEC } from "../support/networks-spec.ts";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { snapshotDir } from "../support/snapshot-dir.ts";
import { tempDir } from "../support/temp.ts";
import { type XmlElement, elements, parseXml, textOf } from "../support/xml.ts";

const rich = resolveSpec(RICH_SPEC);

const inside = (inner: Rect, outer: Rect): boolean =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;
const overlap = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const onEdge = (p: { x: number; y: number }, r: Rect): boolean =>
  (Math.abs(p.x - r.x) <= 1 || Math.abs(p.x - r.x - r.width) <= 1) &&
  p.y >= r.y - 1 &&
  p.y <= r.y + r.height + 1;

describe("topology.svg", () => {
  let svg = "";
  let root: XmlElement;
  beforeAll(() => {
    svg = topologySvg(rich, "hosts.ts");
    root = parseXml(svg);
  });

  it("is well-formed SVG with its size and a title", () => {
    expect(root.name).toBe("svg");
    expect(root.attributes.xmlns).toBe("http://www.w3.org/2000/svg");
    const { width, height } = root.attributes;
    expect(root.attributes.viewBox).toBe(`0 0 ${width} ${height}`);
    expect(Number(width)).toBeGreaterThan(300);
    expect(Number(height)).toBeGreaterThan(200);
    expect(elements(root).some((e) => e.name === "title")).toBe(true);
  });

  it("holds every host, NIC, bridge, guest, tap, MAC, size, address and VNC display as text", () => {
    const texts = elements(root)
      .filter((e) => e.name === "text")
      .map(textOf);
    const words = (s: string): boolean => texts.some((t) => t.includes(s));
    for (const h of rich.hosts) {
      for (const s of [h.name, h.lan.nic, h.lan.bridge]) expect(words(s), s).toBe(true);
      for (const g of h.guests) {
        for (const s of [g.name, g.tap, g.mac, `memory ${g.memoryBytes / (1n << 20n)}M`]) {
          const alt = s.startsWith("memory") ? `memory ${g.memoryBytes / (1n << 30n)}G` : s;
          expect(words(s) || words(alt), `${g.name}: ${s}`).toBe(true);
        }
        expect(words(`disk ${g.diskBytes / (1n << 30n)}G`), `${g.name} disk`).toBe(true);
        if (g.vnc) expect(words(`VNC ${g.vnc.address}:${g.vnc.display}`)).toBe(true);
      }
    }
    expect(words("192.0.2.20/24")).toBe(true);
    expect(words("host: IPv4 192.0.2.10/24")).toBe(true);
    expect(words("MAC 02:00:00:00:0a:01")).toBe(true);
    expect(words("starts by hand")).toBe(true);
  });

  it("is laid out readably: boxes inside their host, none overlapping, every guest wired to its bridge", () => {
    const l = layoutTopology(topologyGraph(rich, "hosts.ts"));
    const page = { x: 0, y: 0, width: l.width, height: l.height };
    expect(l.hosts.map((h) => h.title)).toEqual(["lab", "rack"]);
    for (const [i, h] of l.hosts.entries()) {
      expect(inside(h, page)).toBe(true);
      for (const other of l.hosts.slice(i + 1)) expect(overlap(h, other)).toBe(false);
      for (const [j, b] of h.boxes.entries()) {
        expect(inside(b, h), `${b.title} inside ${h.title}`).toBe(true);
        for (const c of h.boxes.slice(j + 1))
          expect(overlap(b, c), `${b.title}/${c.title}`).toBe(false);
      }
    }
    expect(overlap(l.lan, l.hosts[0]!)).toBe(false);
    const byId = new Map([l.lan, ...l.hosts.flatMap((h) => h.boxes)].map((b) => [b.id, b]));
    const graph = topologyGraph(rich, "hosts.ts");
    for (const link of graph.links) {
      const wire = l.links.find((w) => w.id === link.id)!;
      expect(wire.points.length, link.id).toBeGreaterThanOrEqual(2);
      expect(onEdge(wire.points[0]!, byId.get(link.from)!), `${link.id} starts at its box`).toBe(
        true,
      );
      expect(onEdge(wire.points.at(-1)!, byId.get(link.to)!), `${link.id} ends at its box`).toBe(
        true,
      );
    }
    // Each guest's wire enters at the line naming its tap and MAC.
    for (const g of l.hosts.flatMap((h) => h.boxes).filter((b) => b.kind === "guest")) {
      const wire = l.links.find((w) => w.id === `${g.id}-nic0`)!;
      const end = wire.points.at(-1)!;
      expect(end.x).toBe(g.x);
      expect(end.y - g.y).toBeCloseTo(baseline(0) - 4, 0);
      expect(g.lines[0]).toMatch(/^\S+ 52:54:00(:[0-9a-f]{2}){3}$/);
    }
  });

  it("gives the same bytes for the same description", () => {
    expect(topologySvg(rich, "hosts.ts")).toBe(svg);
  });

  it("escapes every word it did not write itself", () => {
    const hostile = `it's <b>&amp; "x" -- ${"${"}y}.ts`;
    const text = topologySvg(rich, hostile);
    const parsed = parseXml(text);
    expect(textOf(elements(parsed).find((e) => e.name === "title")!)).toContain(hostile);
    expect(text).toContain(xmlText("<b>"));
    expect(text.split("\n")[0]).not.toContain("--y");
  });
});

describe("topology.svg with data disks and shares", () => {
  it("lists each data disk and share in its guest's box", () => {
    const spec = resolveSpec({
      hosts: {
        study: {
          lan: { nic: "enp0s31f6", bridge: "vbridge0" },
          stateVersion: "26.05",
          guests: {
            alice: {
              memory: "1G",
              disk: "4G",
              disks: { data: { size: "100G", mountPoint: "/srv/data" } },
              shares: { media: { source: "/srv/media", mountPoint: "/mnt/media", readOnly: true } },
            },
          },
        },
      },
    });
    const alice = topologyGraph(spec, "hosts.ts").hosts[0]!.boxes.find((b) => b.title === "alice")!;
    expect(alice.lines).toContain("disk data 100G at /srv/data");
    expect(alice.lines.find((l) => l.startsWith("share "))).toMatch(
      /^share \/srv\/media at \/mnt\/media \((virtiofs|9p), read-only\)$/,
    );
    expect(parseXml(topologySvg(spec, "hosts.ts")).name).toBe("svg");
  });
});

describe("topology.svg with private networks and several NICs", () => {
  const spec = resolveSpec(NETWORKS_SPEC);

  it("draws a bridge per network, NAT routed from the LAN bridge, and a wire per NIC at its line", () => {
    const l = layoutTopology(topologyGraph(spec, "hosts.ts"));
    const boxes = l.hosts[0]!.boxes;
    const byTitle = new Map(boxes.map((b) => [b.title, b]));
    expect(boxes.map((b) => b.title)).toEqual([
      "enp0s31f6",
      "vbridge0",
      "vlab0",
      "vnat0",
      "alice",
      "build",
    ]);
    expect(byTitle.get("vnat0")!.lines).toContain("subnet 10.77.0.0/24");
    expect(byTitle.get("vnat0")!.lines).toContain("host: IPv4 10.77.0.1/24");
    expect(byTitle.get("vlab0")!.lines).toContain("host: not on it");
    expect(byTitle.get("build")!.lines).toContain("IPv4 10.77.0.10 (lease)");
    const graph = topologyGraph(spec, "hosts.ts");
    const ends = graph.links.map((k) => [
      boxes.find((b) => b.id === k.from)?.title,
      boxes.find((b) => b.id === k.to)?.title,
      k.routed ?? false,
    ]);
    expect(ends).toEqual(
      expect.arrayContaining([
        ["vbridge0", "vnat0", true],
        ["vbridge0", "alice", false],
        ["vlab0", "alice", false],
        ["vnat0", "build", false],
      ]),
    );
    // alice's second NIC's wire enters at its second NIC line.
    const alice = byTitle.get("alice")!;
    const second = l.links.find((w) => w.id === `${alice.id}-nic1`)!.points.at(-1)!;
    expect(alice.lines[alice.ports![1]!.line]).toMatch(/^vm-alice-1 /);
    expect(second.y - alice.y).toBeCloseTo(baseline(alice.ports![1]!.line) - 4, 0);
    const svg = topologySvg(spec, "hosts.ts");
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(1);
  });
});

describe("topology.svg in the build", () => {
  it("the example's committed topology.svg is what the build writes", async () => {
    const committed = readFileSync(join(REPO_ROOT, "topology.svg"), "utf8");
    const spec = (await import(join(REPO_ROOT, "hosts.ts"))) as { default: unknown };
    expect(topologySvg(resolveSpec(spec.default), "hosts.ts")).toBe(committed);
  });

  it("--check names a changed topology.svg; a topology.svg of the user's own is never replaced", async () => {
    const out = tempDir();
    const hosts = join(REPO_ROOT, "hosts.ts");
    expect((await build(["--hosts", hosts, "--out", out, "--no-typecheck"])).code).toBe(0);
    const svg = join(out, "topology.svg");
    writeFileSync(svg, readFileSync(svg, "utf8").replace("alice", "alicia"));
    const check = await build(["--hosts", hosts, "--out", out, "--no-typecheck", "--check"]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/update +topology\.svg/);

    writeFileSync(svg, "<svg>my own drawing</svg>\n");
    const before = snapshotDir(out);
    const r = await build(["--hosts", hosts, "--out", out, "--no-typecheck"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("topology.svg exists and was not generated by vmflake");
    expect(snapshotDir(out)).toEqual(before);
  });
});
