/**
 * Benchmark of the generated NixOS option types: native `tsc` on the example hosts file without
 * and with `.vmflake/nixos-options.d.ts` (wall and CPU time of the compiler process, median of
 * five runs each), also with a typed config and with a full-size option set; the sizes, and
 * the time to print the full-size set (the Nix walk itself is timed by `vmflake types`, which
 * prints it).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { findTsc, tscArgs } from "../cli/typecheck.ts";
import { generateTypes } from "../cli/types/emit-types.ts";
import type { OptionData } from "../cli/types/option-data.ts";

const ROOT = join(import.meta.dirname, "..");
const TYPES = join(ROOT, ".vmflake", "nixos-options.d.ts");
const FIXTURE = join(ROOT, "test", "fixtures", "nixos-option-types.json");
const RUNS = 5;

interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

/** The example with a typed guest `config` (so the check reads the option types it uses). */
const CONFIGURED = `import { defineHosts } from ${JSON.stringify(join(ROOT, "lib", "index.ts"))};
import * as n from ${JSON.stringify(join(ROOT, "dsl", "index.ts"))};

export default defineHosts({
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        alice: {
          memory: "1G",
          disk: "40G",
          config: {
            services: { openssh: { enable: true, ports: [22], settings: { PermitRootLogin: "no" } } },
            users: { users: { dan: { isNormalUser: true, extraGroups: ["wheel"], shell: n.pkgs.fish } } },
            networking: { firewall: { allowedTCPPorts: [80, 443] } },
            systemd: { services: { backup: { script: "true", startAt: "daily", serviceConfig: { Type: "oneshot" } } } },
          },
        },
      },
    },
  },
});
`;

/** One tsc run under /usr/bin/time: wall and user+system seconds. */
function tsc(hosts: string, extra: readonly string[]): Timing {
  const args = ["-f", "%e %U %S", process.execPath, findTsc(), ...tscArgs(hosts, extra)];
  const r = spawnSync("/usr/bin/time", args, { encoding: "utf8", cwd: ROOT });
  const last = r.stderr.trim().split("\n").pop()!;
  const [wall, user, sys] = last.split(" ").map(Number);
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
  return { wall: wall!, cpu: user! + sys! };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(hosts: string, extra: readonly string[]): Timing {
  const runs = Array.from({ length: RUNS }, () => tsc(hosts, extra));
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
}

export async function run(): Promise<void> {
  if (!existsSync(TYPES)) {
    console.log(`no ${TYPES}: run \`npx vmflake types\` first`);
    return;
  }
  const show = (t: Timing) => `${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`;
  const dir = mkdtempSync(join(tmpdir(), "vmflake-bench-types-"));
  try {
    const configured = join(dir, "hosts.ts");
    writeFileSync(configured, CONFIGURED);
    // A full nixpkgs has about 20,000 options, the slim snapshot here about 4,800: the fixture
    // (openssh, users, firewall, systemd services …) at the top and 99 more copies of it below
    // other names stand in for the size.
    const large = join(dir, "large.d.ts");
    const t0 = performance.now();
    const generated = generateTypes(largeData());
    const printSeconds = (performance.now() - t0) / 1000;
    writeFileSync(large, generated.text);
    console.log(
      `a full-size option set (${generated.options} options, ${generated.interfaces} interfaces, ` +
        `${(generated.text.length / 1024 / 1024).toFixed(1)} MiB) printed in ${printSeconds.toFixed(1)} s`,
    );
    for (const [what, hosts, types] of [
      ["the example", join(ROOT, "hosts.ts"), TYPES],
      ["the example with a typed config", configured, TYPES],
      ["the example with a typed config, full-size types", configured, large],
    ] as const) {
      const without = timed(hosts, []);
      const withTypes = timed(hosts, [types]);
      console.log(`tsc on ${what}, without the option types: ${show(without)}`);
      console.log(`tsc on ${what}, with the option types:    ${show(withTypes)}`);
      console.log(
        `  ratio: ${(withTypes.wall / without.wall).toFixed(2)}× wall, ${(withTypes.cpu / without.cpu).toFixed(2)}× CPU`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const kib = readFileSync(TYPES).length / 1024;
  console.log(`${TYPES.slice(ROOT.length + 1)}: ${kib.toFixed(0)} KiB`);
  await Promise.resolve();
}

/** The fixture's options, and 99 copies of them under `copy1` … `copy99`. */
function largeData(): OptionData {
  const data = JSON.parse(readFileSync(FIXTURE, "utf8")) as OptionData;
  const options: { [k: string]: OptionData["options"][string] } = { ...data.options };
  for (let i = 1; i < 100; i++) options[`copy${i}`] = { kind: "group", options: data.options };
  return { ...data, options };
}
