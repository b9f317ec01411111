/**
 * Benchmark of build.ts: the example and generated descriptions (1 host × 100 guests, 10 hosts ×
 * 100 guests), without and with the type check; and the type check alone, native `tsc` (the path
 * build.ts takes) against ts-morph's bundled compiler API.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Project } from "ts-morph";
import { runBuild } from "../cli/main.ts";
import { typecheckFile } from "../cli/typecheck.ts";

const ROOT = join(import.meta.dirname, "..");
const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";

function describeHosts(hosts: number, guests: number): string {
  const lib = JSON.stringify(join(ROOT, "lib", "index.ts"));
  const hs = Array.from({ length: hosts }, (_, h) => {
    const gs = Array.from(
      { length: guests },
      (_, g) =>
        `        g${h}x${g}: { memory: "1G", disk: "${10 + (g % 50)}G", cpus: ${1 + (g % 4)}, vnc: ${g % 100} },`,
    ).join("\n");
    return `    h${h}: {\n      lan: { nic: "eth0", bridge: "br0" },\n      sshKeys: [${JSON.stringify(KEY)}],\n      stateVersion: "26.05",\n      guests: {\n${gs}\n      },\n    },`;
  }).join("\n");
  return `import { defineHosts } from ${lib};\nexport default defineHosts({\n  hosts: {\n${hs}\n  },\n});\n`;
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
