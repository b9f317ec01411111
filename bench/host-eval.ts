/**
 * Benchmark of host evaluation with the real NixOS module system (the real NixOS tier of
 * test/nixos; needs NIXPKGS=/path/to/nixpkgs, and says so and does nothing without it): a host
 * with 1 and with 20 network-install guests is evaluated down to its toplevel .drv path, one
 * `nix eval` of test/nixos/real-nixos.nix per run, best of 3 runs (the machine is shared: noise
 * only ever adds time). The installer ISO is the same for every guest, so 20 guests should cost
 * at most 1.2 times what 1 costs.
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

const RUNS = 3;
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
  readonly maxRssMiB: number | undefined;
}

/** One timed evaluation of the host's toplevel .drv path. */
function evalOnce(flakeDir: string): Sample {
  const args = { scenario: "toplevel", flakeDir, host: "study" } as const;
  // /usr/bin/time also gives the peak memory; without it, the wall time alone.
  if (existsSync("/usr/bin/time")) {
    const r = realEvalTimed<{ drvPath: string }>(args);
    check(r.result.drvPath);
    return { seconds: r.seconds, maxRssMiB: r.maxRssMiB };
  }
  const r = realEval<{ drvPath: string }>(args);
  check(r.result.drvPath);
  return { seconds: r.seconds, maxRssMiB: undefined };
}

function check(drvPath: string): void {
  if (!/^\/nix\/store\/[a-z0-9]{32}-nixos-system-study-[^/]*\.drv$/.test(drvPath)) {
    throw new Error(`unexpected toplevel .drv path ${drvPath}`);
  }
}

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
        `network installs; best of ${RUNS}, one nix eval each; GC_DONT_GC=1 as in test/nixos)`,
    );
    const best: { [guests: number]: Sample } = {};
    for (const guests of [1, 20]) {
      const { dir } = await buildFlake(spec(guests));
      const samples = Array.from({ length: RUNS }, () => evalOnce(dir));
      const seconds = Math.min(...samples.map((s) => s.seconds));
      const rss = samples.map((s) => s.maxRssMiB).filter((m) => m !== undefined);
      best[guests] = { seconds, maxRssMiB: rss.length > 0 ? Math.max(...rss) : undefined };
      const all = samples.map((s) => s.seconds.toFixed(2)).join(", ");
      const mem =
        best[guests].maxRssMiB === undefined ? "" : `, ${best[guests].maxRssMiB} MiB peak`;
      console.log(
        `  ${`${guests} guest${guests > 1 ? "s" : ""}`.padEnd(10)} ${seconds.toFixed(2)} s${mem}  (runs: ${all} s)`,
      );
    }
    const ratio = best[20]!.seconds / best[1]!.seconds;
    console.log(
      `  ratio 20 guests / 1 guest: ${ratio.toFixed(2)} (${ratio <= FLAT ? "flat" : "NOT flat"}: the target is at most ${FLAT})`,
    );
  } finally {
    removeBuiltFlakes();
  }
}
