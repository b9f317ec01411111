/** The table build.ts prints: what runs where, and what changed. */
import type { ResolvedSpec } from "../lib/index.ts";
import type { Change } from "./output-plan.ts";

const MiB = 1n << 20n;
const GiB = 1n << 30n;

function size(bytes: bigint): string {
  return bytes % GiB === 0n ? `${bytes / GiB}G` : `${bytes / MiB}M`;
}

export function guestTable(spec: ResolvedSpec): string {
  const rows = [["host", "guest", "cpus", "memory", "disk", "tap", "MAC", "VNC"]];
  for (const h of spec.hosts) {
    for (const g of h.guests) {
      rows.push([
        h.name,
        g.name,
        String(g.cpus),
        size(g.memoryBytes),
        size(g.diskBytes),
        g.tap,
        g.mac,
        g.vnc ? `${g.vnc.address}:${g.vnc.display}` : "-",
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function changeList(changes: readonly Change[]): string {
  const changed = changes.filter((c) => c.kind !== "unchanged");
  if (changed.length === 0) return "Nothing changed.";
  return changed.map((c) => `  ${c.kind.padEnd(6)} ${c.path}`).join("\n");
}
