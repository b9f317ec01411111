/**
 * Benchmark of host evaluation with the real NixOS module system (the real NixOS tier of
 * test/nixos; needs NIXPKGS=/path/to/nixpkgs, and says so and does nothing without it): a host
 * with 1 and with 20 network-install guests is evaluated down to its toplevel .drv path, one
 * `nix eval` of test/nixos/real-nixos.nix per run. The two sizes take turns, round after round,
 * so that load from elsewhere on a shared machine falls on both alike; each reports its best run
 * (noise only ever adds time), as wall time and as the nix process's CPU time (user + system,
 * which load hardly changes; the flatness verdict uses it when /usr/bin/time is there). The
 * installer ISO is the same for every guest, so 20 guests should cost at most 1.2 times what 1
 * costs.
 */
import { existsSync } from "node:fs";
import type { HostsSpec } from "../lib/index.ts";
import {
  NIXPKGS,
  buildFlake,
  realEval,
  realEvalTimed,
  removeBuiltFlakes,
} from "../test/nixos/support.ts";

const ROUNDS = 3;
const SIZES = [1, 20] as const;
/** What "flat" means: 20 guests cost at most this many times what 1 costs. */
const FLAT = 1.2;

function spec(guests: number): HostsSpec {
  return {
    hosts: {
      study: {
        lan: { nic: "eth0", bridge: "br0" },
        stateVersion: "26.05",
        guests: Object.fromEntries(
          Array.from({ length: guests }, (_, i) => [`g${i + 1}`, { memory: "1G", disk: "10G" }]),
        ),
      },
    },
  };
}

interface Sample {
  readonly seconds: number;
  readonly cpuSeconds: number | undefined;
  readonly maxRssMiB: number | undefined;
}

const timed = existsSync("/usr/bin/time");

/** One evaluation of the host's toplevel .drv path. */
function evalOnce(flakeDir: string): Sample {
  const args = { scenario: "toplevel", flakeDir, host: "study" } as const;
  // /usr/bin/time also gives CPU time and peak memory; without it, the wall time alone.
  if (timed) {
    const r = realEvalTimed<{ drvPath: string }>(args);
    check(r.result.drvPath);
    return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssMiB: r.maxRssMiB };
  }
  const r = realEval<{ drvPath: string }>(args);
  check(r.result.drvPath);
  return { seconds: r.seconds, cpuSeconds: undefined, maxRssMiB: undefined };
}

function check(drvPath: string): void {
  if (!/^\/nix\/store\/[a-z0-9]{32}-nixos-system-study-[^/]*\.drv$/.test(drvPath)) {
    throw new Error(`unexpected toplevel .drv path ${drvPath}`);
  }
}

const best = (xs: readonly (number | undefined)[]): number | undefined => {
  const known = xs.filter((x) => x !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
};

export async function run(): Promise<void> {
  if (NIXPKGS === undefined) {
    console.log(
      "\nhost evaluation (real NixOS): SKIPPED, NIXPKGS is not set " +
        "(NIXPKGS=/path/to/nixpkgs npm run bench -- host-eval)",
    );
    return;
  }
  try {
    console.log(
      `\nhost evaluation with real NixOS (${NIXPKGS}; toplevel .drv path, scripted networking, ` +
        `network installs; ${ROUNDS} rounds taking turns, best run; one nix eval each; ` +
        "GC_DONT_GC=1 as in test/nixos)",
    );
    const flakes = new Map<number, string>();
    for (const n of SIZES) flakes.set(n, (await buildFlake(spec(n))).dir);
    const samples = new Map<number, Sample[]>(SIZES.map((n) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of SIZES) samples.get(n)!.push(evalOnce(flakes.get(n)!));
    }
    const results = new Map<number, { wall: number; cpu: number | undefined }>();
    for (const n of SIZES) {
      const s = samples.get(n)!;
      const wall = best(s.map((x) => x.seconds))!;
      const cpu = best(s.map((x) => x.cpuSeconds));
      const rss = s.map((x) => x.maxRssMiB).filter((m) => m !== undefined);
      results.set(n, { wall, cpu });
      const label = `${n} guest${n > 1 ? "s" : ""}`.padEnd(10);
      const cpuText = cpu === undefined ? "" : `, ${cpu.toFixed(2)} s CPU`;
      const mem = rss.length > 0 ? `, ${Math.max(...rss)} MiB peak` : "";
      const runs = s.map((x) => x.seconds.toFixed(2)).join(", ");
      console.log(
        `  ${label} ${wall.toFixed(2)} s wall${cpuText}${mem}  (wall of each run: ${runs} s)`,
      );
    }
    const one = results.get(1)!;
    const twenty = results.get(20)!;
    const wallRatio = twenty.wall / one.wall;
    const cpuRatio =
      twenty.cpu !== undefined && one.cpu !== undefined ? twenty.cpu / one.cpu : undefined;
    const ratio = cpuRatio ?? wallRatio;
    console.log(
      `  ratio 20 guests / 1 guest: ${wallRatio.toFixed(2)} wall` +
        (cpuRatio === undefined ? "" : `, ${cpuRatio.toFixed(2)} CPU`) +
        ` (${ratio <= FLAT ? "flat" : "NOT flat"}: the target is at most ${FLAT})`,
    );
  } finally {
    removeBuiltFlakes();
  }
}
