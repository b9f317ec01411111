/**
 * Benchmark of build.ts: the example and generated descriptions (1 host × 100 guests, 10 hosts ×
 * 100 guests), without and with the type check; the topology picture alone (graph, layout and SVG
 * text) for 100 and 1,000 guests, its first call in a fresh process and warm; and the type check
 * alone, native `tsc` (the path build.ts takes) against ts-morph's bundled compiler API; and
 * the first build of 1,000 guests in a fresh process, which is what a user waits for.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Project } from "ts-morph";
import { runBuild } from "../cli/main.ts";
import { topologySvg } from "../cli/topology-svg.ts";
import { typecheckFile } from "../cli/typecheck.ts";
import { type HostsSpec, resolveSpec } from "../lib/index.ts";

const ROOT = join(import.meta.dirname, "..");
const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";

function describeHosts(hosts: number, guests: number): string {
  const lib = JSON.stringify(join(ROOT, "lib", "index.ts"));
  const hs = Array.from({ length: hosts }, (_, h) => {
    const gs = Array.from(
      { length: guests },
      (_, g) =>
        `        g${h}x${g}: { memory: "1G", disk: "${10 + (g % 50)}G", cpus: ${1 + (g % 4)}${g < 100 ? `, vnc: ${g}` : ""} },`,
    ).join("\n");
    return `    h${h}: {\n      lan: { nic: "eth0", bridge: "br0" },\n      sshKeys: [${JSON.stringify(KEY)}],\n      stateVersion: "26.05",\n      guests: {\n${gs}\n      },\n    },`;
  }).join("\n");
  return `import { defineHosts } from ${lib};\nexport default defineHosts({\n  hosts: {\n${hs}\n  },\n});\n`;
}

/** The generated description as a value: VNC displays for the first 100 guests of a host. */
function hostsValue(hosts: number, guests: number): HostsSpec {
  const host = (h: number): HostsSpec["hosts"][string] => ({
    lan: { nic: "eth0", bridge: "br0" },
    sshKeys: [KEY],
    stateVersion: "26.05",
    guests: Object.fromEntries(
      Array.from({ length: guests }, (_, g) => [
        `g${h}x${g}`,
        {
          memory: "1G",
          disk: `${10 + (g % 50)}G`,
          cpus: 1 + (g % 4),
          ...(g < 100 ? { vnc: g } : {}),
        },
      ]),
    ),
  });
  return { hosts: Object.fromEntries(Array.from({ length: hosts }, (_, h) => [`h${h}`, host(h)])) };
}

const TOPOLOGY_CHILD = "--topology-child";
const BUILD_CHILD = "--build-child";

/**
 * Milliseconds of one build of `hostsFile` without the type check, as the first thing a fresh
 * process does after loading vmflake (a child running this module with {@link BUILD_CHILD}):
 * what `npx tsx build.ts` costs after start-up.
 */
function timeFirstBuild(hostsFile: string): number {
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, import.meta.filename, BUILD_CHILD, hostsFile],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`build benchmark failed (${r.status}):\n${r.stderr}`);
  return Number(r.stdout);
}

async function buildChild(hostsFile: string): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), "vmflake-bench-out-"));
  try {
    const t0 = performance.now();
    const code = await runBuild(["--hosts", hostsFile, "--out", out, "--no-typecheck"], ROOT, {
      stdout: () => {},
      stderr: (t) => process.stderr.write(t),
    });
    const t = performance.now() - t0;
    if (code !== 0) throw new Error(`build of ${hostsFile} failed (${code})`);
    process.stdout.write(String(t));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Milliseconds of `topologySvg` for `hosts` × `guests`: its first call, then the median of 9 more.
 * Run in a child process (this module with {@link TOPOLOGY_CHILD}), so the first call is really
 * the process's first, with nothing compiled or warmed up by an earlier case.
 */
function timeTopology(hosts: number, guests: number): { cold: number; warm: number } {
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, import.meta.filename, TOPOLOGY_CHILD, String(hosts), String(guests)],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`topology benchmark failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as { cold: number; warm: number };
}

function topologyChild(hosts: number, guests: number): void {
  const spec = resolveSpec(hostsValue(hosts, guests));
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    topologySvg(spec, "hosts.ts");
    times.push(performance.now() - t0);
  }
  process.stdout.write(JSON.stringify({ cold: times[0], warm: median(times.slice(1)) }));
}

async function timeBuild(hostsFile: string, typecheck: boolean, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), "vmflake-bench-out-"));
    const args = ["--hosts", hostsFile, "--out", out, ...(typecheck ? [] : ["--no-typecheck"])];
    const t0 = performance.now();
    const code = await runBuild(args, ROOT, {
      stdout: () => {},
      stderr: (t) => process.stderr.write(t),
    });
    times.push(performance.now() - t0);
    rmSync(out, { recursive: true, force: true });
    if (code !== 0) throw new Error(`build of ${hostsFile} failed (${code})`);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const ms = (x: number): string => `${x.toFixed(0).padStart(6)} ms`;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vmflake-bench-"));
  try {
    const cases: [string, string][] = [["example (1 host × 2 guests)", join(ROOT, "hosts.ts")]];
    for (const [h, g] of [
      [1, 100],
      [10, 100],
    ] as const) {
      const file = join(dir, `hosts-${h}x${g}.ts`);
      writeFileSync(file, describeHosts(h, g));
      cases.push([`generated (${h} host${h > 1 ? "s" : ""} × ${g} guests)`, file]);
    }
    console.log("\nbuild.ts (median of 5 runs; in-process, fresh output directory each run)");
    const noTc: number[] = [];
    for (const [name, file] of cases) {
      const a = await timeBuild(file, false, 5);
      const b = await timeBuild(file, true, 3);
      noTc.push(a);
      console.log(`  ${name.padEnd(34)} ${ms(a)} without type check, ${ms(b)} with`);
    }
    console.log(
      `  ratio 1,000 guests / 100 guests (no type check): ${(noTc[2]! / noTc[1]!).toFixed(2)}`,
    );

    const big = join(dir, "hosts-1x1000.ts");
    writeFileSync(big, describeHosts(1, 1000));
    console.log(
      `\nfirst build in a fresh process, after start-up (no type check; output under ${tmpdir()},` +
        " set TMPDIR to move it: creating files there costs what it costs)",
    );
    for (const [name, file] of [
      ["generated (10 hosts × 100 guests)", cases[2]![1]],
      ["generated (1 host × 1000 guests)", big],
    ] as const) {
      const times = [0, 1, 2].map(() => timeFirstBuild(file));
      console.log(`  ${name.padEnd(34)} ${ms(median(times))} (median of 3 processes)`);
    }

    console.log(
      "\ntopology.svg alone (graph, layout, SVG text): first call in a fresh process, median of 9 more",
    );
    for (const [h, g] of [
      [1, 100],
      [1, 1000],
      [10, 100],
    ] as const) {
      const t = timeTopology(h, g);
      const name = `${h} host${h > 1 ? "s" : ""} × ${g} guests`;
      console.log(`  ${name.padEnd(34)} ${ms(t.cold)} cold, ${ms(t.warm)} warm`);
    }

    console.log("\ntype check of the example hosts.ts alone (median of 3)");
    const native: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const d = typecheckFile(join(ROOT, "hosts.ts"));
      native.push(performance.now() - t0);
      if (d.length > 0) throw new Error(d.join("\n"));
    }
    const morph: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const project = new Project({
        compilerOptions: {
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true,
        },
      });
      project.addSourceFileAtPath(join(ROOT, "hosts.ts"));
      project.resolveSourceFileDependencies();
      const diags = project.getPreEmitDiagnostics();
      morph.push(performance.now() - t0);
      void diags;
    }
    console.log(`  native tsc (TypeScript 7, what build.ts runs) ${ms(median(native))}`);
    console.log(`  ts-morph (bundled TypeScript API)             ${ms(median(morph))}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === TOPOLOGY_CHILD) {
  topologyChild(Number(process.argv[3]), Number(process.argv[4]));
}
if (process.argv[2] === BUILD_CHILD) {
  await buildChild(process.argv[3]!);
}
