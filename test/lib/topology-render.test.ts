/**
 * The example's committed topology.svg rendered by headless Debian Chromium to a PNG, and the PNG
 * looked at: the page's size, not blank, and the colours the layout says are where they are (the
 * LAN, the host's frame, each guest's title band), so the browser drew the boxes where the layout
 * put them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { resolveSpec } from "../../lib/index.ts";
import { topologyGraph } from "../../lib/topology/graph.ts";
import { layoutTopology } from "../../lib/topology/layout.ts";
import { REPO_ROOT } from "../support/build-cli.ts";
import { readPng } from "../support/png.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

/** A screenshot of `file` at `width`×`height` CSS pixels, one device pixel each; the PNG's path. */
function screenshot(file: string, width: number, height: number): string {
  const dir = tempDir("vmflake-chromium-");
  const png = join(dir, "shot.png");
  const r = spawnSync(
    "chromium",
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--hide-scrollbars",
      "--force-device-scale-factor=1",
      `--user-data-dir=${join(dir, "profile")}`,
      `--screenshot=${png}`,
      `--window-size=${width},${height}`,
      `file://${file}`,
    ],
    { encoding: "utf8", timeout: 180_000, env: { ...process.env, HOME: dir } },
  );
  if (!existsSync(png)) {
    throw new Error(`chromium wrote no screenshot (${r.status}, ${r.signal}):\n${r.stderr}`);
  }
  return png;
}

const hex = (c: string): readonly [number, number, number] => [
  parseInt(c.slice(1, 3), 16),
  parseInt(c.slice(3, 5), 16),
  parseInt(c.slice(5, 7), 16),
];
const near = (a: readonly number[], b: readonly number[]): boolean =>
  a.every((v, i) => Math.abs(v - b[i]!) <= 6);

describeWith(["chromium"], "topology.svg in headless Chromium", () => {
  it("renders the example's picture at its size, with the boxes where the layout put them", async () => {
    const file = join(REPO_ROOT, "topology.svg");
    const svg = readFileSync(file, "utf8");
    const [, w, h] = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg)!;
    const png = readPng(readFileSync(screenshot(file, Number(w), Number(h))));
    expect([png.width, png.height]).toEqual([Number(w), Number(h)]);

    let ink = 0;
    const colours = new Set<string>();
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        const c = png.rgb(x, y);
        if (c.some((v) => v < 200)) ink++;
        colours.add(c.join(","));
      }
    }
    // Not blank, nor one big blot: text, frames and wires (not the pale fills) cover some of it.
    expect(ink / (png.width * png.height)).toBeGreaterThan(0.02);
    expect(ink / (png.width * png.height)).toBeLessThan(0.3);
    expect(colours.size).toBeGreaterThan(20);

    const spec = (await import(join(REPO_ROOT, "hosts.ts"))) as { default: unknown };
    const l = layoutTopology(topologyGraph(resolveSpec(spec.default), "hosts.ts"));
    const at = (x: number, y: number) => png.rgb(Math.round(x), Math.round(y));
    expect(at(l.lan.x + 14, l.lan.y + l.lan.height / 2)).toSatisfy((c: number[]) =>
      near(c, hex("#e8f0fe")),
    );
    const host = l.hosts[0]!;
    expect(at(host.x + 6, host.y + host.height - 6)).toSatisfy((c: number[]) =>
      near(c, hex("#f3f5f8")),
    );
    const guests = host.boxes.filter((b) => b.kind === "guest");
    expect(guests.map((g) => g.title)).toEqual(["alice", "bob"]);
    for (const g of guests) {
      expect(at(g.x + g.width - 8, g.y + 6), g.title).toSatisfy((c: number[]) =>
        near(c, hex("#e3f4e9")),
      );
      // Below the band the box is white again (text aside).
      expect(at(g.x + g.width - 4, g.y + g.height - 4), g.title).toSatisfy((c: number[]) =>
        near(c, hex("#ffffff")),
      );
    }
  }, 240_000);
});
