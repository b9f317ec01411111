/**
 * Benchmark of the dsl printer (AST → canonical Nix text): an attribute set of many bindings,
 * and a NixOS module of many systemd-service-like sets, each at 1× and 10× size, each workload
 * in a process of its own.
 *
 * Reports per workload: median print time (after warm-up, no forced collection between runs),
 * output size and MB/s, the heap growth across one print from a collected heap (a lower bound
 * of the print's peak allocation) and the process's peak RSS; beside it, in the same process:
 * - `JSON.stringify(v, null, 2)` of the same data as plain JSON (package references as
 *   strings), and the ratio of the two speeds (target ≤ 5);
 * - the same AST written by a walk that makes no layout decision (`no-layout-walk.ts`): it does
 *   less than any printer of this AST must, so it is a floor for a printer in JavaScript;
 * - the median time of each stage (lower, document with fixup, layout).
 * Then time(10×) / time(1×), which should be ≤ 11 (linear).
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as n from "../dsl/index.ts";
import type { NixBinding, NixExpr, NixFile } from "../dsl/index.ts";
import { prettyWhole } from "../dsl/format.ts";
import { layout } from "../dsl/layout.ts";
import { lower } from "../dsl/syntax.ts";
import { noLayoutWalk } from "./no-layout-walk.ts";

// A collector we can call between measurements, without requiring `node --expose-gc`.
setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

type Plain = string | number | boolean | readonly Plain[] | { readonly [k: string]: Plain };

/** The value of binding `i` of {@link bindingsFile}; package references as their name. */
function bindingValue(i: number, pkg: (name: string) => n.NixValue | string): n.NixValue {
  switch (i % 5) {
    case 0:
      return `value number ${i} with "quotes" and \${dollars}`;
    case 1:
      return i;
    case 2:
      return [i, `item-${i}`, i % 2 === 0];
    case 3:
      return { enable: true, port: 1000 + i, name: `service-${i}` };
    default:
      return pkg(`package${i}`);
  }
}

/** `{ name0 = …; name1 = …; … }` with a mix of value kinds. */
export function bindingsFile(count: number): NixFile {
  const bindings: NixBinding[] = [];
  for (let i = 0; i < count; i++) {
    bindings.push(
      n.bind(
        `name${i}`,
        bindingValue(i, (p) => n.pkgs[p]!),
      ),
    );
  }
  return { body: n.attrs(bindings) };
}

/** The data of {@link bindingsFile} as JSON-able values. */
export function bindingsData(count: number): Plain {
  const out: Record<string, Plain> = {};
  for (let i = 0; i < count; i++) out[`name${i}`] = bindingValue(i, (p) => `pkgs.${p}`) as Plain;
  return out;
}

/** One service: ~10 fields, lists, nested sets, a multi-line script with interpolations. */
function service(i: number): NixExpr {
  const name = `guest-${i}`;
  const pkgs = n.pkgs;
  return n.attrs({
    description: `QEMU guest ${name}`,
    wantedBy: ["multi-user.target"],
    after: ["network-online.target", `tap-${name}.service`],
    requires: [`tap-${name}.service`],
    path: [pkgs.qemu_kvm, pkgs.socat, pkgs.coreutils],
    environment: { GUEST: name, MEMORY: `${512 + i}M`, CPUS: String(1 + (i % 8)) },
    restartIfChanged: false,
    serviceConfig: {
      User: `vm-${name}`,
      Group: "kvm",
      Restart: "on-failure",
      TimeoutStopSec: 120 + (i % 60),
      RuntimeDirectory: `qemu-${name}`,
      ExecStop: n.nix`${pkgs.writeShellScript(`stop-${name}`, "echo stop")} ${name}`,
    },
    script: n.nix`set -eu
img=/var/lib/vms/${name}.qcow2
if [ ! -e "$img" ]; then
  ${n.lib.getExe(pkgs.qemu_img)} create -f qcow2 "$img" ${String(10 + (i % 90))}G
fi
exec ${n.lib.getExe(pkgs.qemu_kvm)} -name ${name} -m ${String(512 + i)} \\
  -drive file="$img",if=virtio,format=qcow2 -nic tap,ifname=tap${String(i)}
`,
  });
}

/** {@link service} as JSON-able data: interpolated strings as the text Nix would build. */
function serviceData(i: number): Plain {
  const name = `guest-${i}`;
  return {
    description: `QEMU guest ${name}`,
    wantedBy: ["multi-user.target"],
    after: ["network-online.target", `tap-${name}.service`],
    requires: [`tap-${name}.service`],
    path: ["pkgs.qemu_kvm", "pkgs.socat", "pkgs.coreutils"],
    environment: { GUEST: name, MEMORY: `${512 + i}M`, CPUS: String(1 + (i % 8)) },
    restartIfChanged: false,
    serviceConfig: {
      User: `vm-${name}`,
      Group: "kvm",
      Restart: "on-failure",
      TimeoutStopSec: 120 + (i % 60),
      RuntimeDirectory: `qemu-${name}`,
      ExecStop: `\${pkgs.writeShellScript "stop-${name}" "echo stop"} ${name}`,
    },
    script: `set -eu
img=/var/lib/vms/${name}.qcow2
if [ ! -e "$img" ]; then
  \${lib.getExe pkgs.qemu_img} create -f qcow2 "$img" ${String(10 + (i % 90))}G
fi
exec \${lib.getExe pkgs.qemu_kvm} -name ${name} -m ${String(512 + i)} \\
  -drive file="$img",if=virtio,format=qcow2 -nic tap,ifname=tap${String(i)}
`,
  };
}

/** The data of {@link servicesFile} as JSON-able values. */
export function servicesData(count: number): Plain {
  const services: Record<string, Plain> = {};
  for (let i = 0; i < count; i++) services[`qemu-guest-${i}`] = serviceData(i);
  return { systemd: { services } };
}

/** `{ config, lib, pkgs, ... }: { systemd.services."guest-0" = …; … }`. */
export function servicesFile(count: number): NixFile {
  const bindings: NixBinding[] = [];
  for (let i = 0; i < count; i++) {
    bindings.push(n.bind(["systemd", "services", `qemu-guest-${i}`], service(i)));
  }
  return {
    comment: ["Generated by the dsl benchmark."],
    body: n.module(["config", "lib", "pkgs"], n.attrs(bindings)),
  };
}

export interface Measurement {
  readonly name: string;
  readonly medianMs: number;
  /** The fastest run: the time with the least interference (other processes, collections). */
  readonly minMs: number;
  readonly bytes: number;
  readonly heapMB: number;
  readonly rssMB: number;
  /** `JSON.stringify(data, null, 2)` of the same data, same process: median ms and bytes. */
  readonly jsonMs: number;
  readonly jsonMinMs: number;
  readonly jsonBytes: number;
  /** The same AST written by {@link noLayoutWalk} (no layout decisions), same process: median ms. */
  readonly floorMs: number;
  readonly floorMinMs: number;
  readonly floorBytes: number;
  /** Median ms of each stage of the print, run one after the other (see {@link stages}). */
  readonly stages: Stages;
}

/** The printer's stages: AST → syntax → fixed-up layout document → text. */
export interface Stages {
  readonly lower: number;
  readonly document: number;
  readonly layout: number;
}

const MB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * The numbers are the steady state. V8 optimises in tiers over the first calls and sizes its
 * young generation by what survives, and here a print's time still fell by a third from its
 * fifth call to its twentieth: at least ten calls and one second, so a small workload settles
 * as fully as a large one.
 */
function warmUp(f: () => unknown): void {
  const t0 = performance.now();
  for (let w = 0; w < 10 || performance.now() - t0 < 1000; w++) f();
}

/** Print `file` `runs` times; the median time and memory figures. */
export function measure(name: string, file: NixFile, data: Plain, runs: number): Measurement {
  warmUp(() => printFileOnce(file));
  // Heap growth of one print, from a collected heap (a lower bound of its peak allocation).
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  printFileOnce(file);
  const heapMB = (process.memoryUsage().heapUsed - heap0) / MB;
  // Timed runs without a forced collection in between: after one, V8 shrinks the young
  // generation and the next run pays for it, which no real build does.
  const times: number[] = [];
  let bytes = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const text = n.printFile(file);
    times.push(performance.now() - t0);
    bytes = Buffer.byteLength(text);
  }
  const rssMB = process.resourceUsage().maxRSS / 1024;
  const json: number[] = [];
  warmUp(() => JSON.stringify(data, null, 2));
  let jsonBytes = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const text = JSON.stringify(data, null, 2);
    json.push(performance.now() - t0);
    jsonBytes = Buffer.byteLength(text);
  }
  const floor: number[] = [];
  warmUp(() => noLayoutWalk(file.body));
  let floorBytes = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const text = noLayoutWalk(file.body);
    floor.push(performance.now() - t0);
    floorBytes = Buffer.byteLength(text);
  }
  return {
    name,
    medianMs: median(times),
    minMs: Math.min(...times),
    bytes,
    heapMB,
    rssMB,
    jsonMs: median(json),
    jsonMinMs: Math.min(...json),
    jsonBytes,
    floorMs: median(floor),
    floorMinMs: Math.min(...floor),
    floorBytes,
    stages: stages(file, runs),
  };
}

/** Median time of each stage, so a slow print shows where it is slow. */
function stages(file: NixFile, runs: number): Stages {
  const t: number[][] = [[], [], []];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const syntax = lower(n.toExpr(file.body));
    const t1 = performance.now();
    const doc = prettyWhole(syntax);
    const t2 = performance.now();
    layout(doc);
    const t3 = performance.now();
    t[0]!.push(t1 - t0);
    t[1]!.push(t2 - t1);
    t[2]!.push(t3 - t2);
  }
  const [lowerMs, documentMs, layoutMs] = t.map(median) as [number, number, number];
  return { lower: lowerMs, document: documentMs, layout: layoutMs };
}

function printFileOnce(file: NixFile): void {
  n.printFile(file);
}

/** `median ms (min ms)`, padded to line up. */
function times(medianMs: number, minMs: number): string {
  return `${medianMs.toFixed(1).padStart(7)} ms (min ${minMs.toFixed(1).padStart(6)})`;
}

function report(m: Measurement): void {
  const mbps = m.bytes / MB / (m.medianMs / 1000);
  const jsonMbps = m.jsonBytes / MB / (m.jsonMs / 1000);
  const floorMbps = m.floorBytes / MB / (m.floorMs / 1000);
  const minRatio = m.jsonBytes / m.jsonMinMs / (m.bytes / m.minMs);
  const line = (label: string, t: string, bytes: number, speed: number, rest: string): void =>
    console.log(
      `  ${label.padEnd(26)} ${t}  ${(bytes / MB).toFixed(2).padStart(6)} MB  ` +
        `${speed.toFixed(2).padStart(6)} MB/s  ${rest}`,
    );
  line(
    m.name,
    times(m.medianMs, m.minMs),
    m.bytes,
    mbps,
    `heap +${m.heapMB.toFixed(0)} MB, peak RSS ${m.rssMB.toFixed(0)} MB`,
  );
  line(
    "  JSON.stringify(v, null, 2)",
    times(m.jsonMs, m.jsonMinMs),
    m.jsonBytes,
    jsonMbps,
    `printer ${(jsonMbps / mbps).toFixed(1)}× slower (target ≤ 5; ${minRatio.toFixed(1)}× by the minimums)`,
  );
  line(
    "  no-layout walk (floor)",
    times(m.floorMs, m.floorMinMs),
    m.floorBytes,
    floorMbps,
    `${(jsonMbps / floorMbps).toFixed(1)}× slower than JSON; printer ${(floorMbps / mbps).toFixed(1)}× the floor`,
  );
  const st = m.stages;
  console.log(
    `  ${"  stages (ms)".padEnd(26)} lower ${st.lower.toFixed(1)}, document ${st.document.toFixed(1)}, ` +
      `layout ${st.layout.toFixed(1)}`,
  );
}

function ratio(label: string, small: Measurement, big: Measurement): number {
  const r = big.medianMs / small.medianMs;
  // The same ratio for the floor and for JSON.stringify: work that is linear by construction,
  // so what they show beyond 10 is this machine's (caches, the collector), not the printer's.
  const floor = big.floorMs / small.floorMs;
  const json = big.jsonMs / small.jsonMs;
  console.log(
    `  ratio ${label}: ${r.toFixed(2)} (target ≤ 11, linear = 10; ` +
      `the floor's ${floor.toFixed(2)}, JSON.stringify's ${json.toFixed(2)})`,
  );
  return r;
}

/** The workloads, by name: the AST to print and the same data as plain JSON. */
const WORKLOADS = {
  attrs: (size: number) => ({ file: bindingsFile(size), data: bindingsData(size) }),
  services: (size: number) => ({ file: servicesFile(size), data: servicesData(size) }),
} as const;
type Workload = keyof typeof WORKLOADS;

const PRINT_CHILD = "--print-child";

/**
 * {@link measure} of one workload in a child process (this module with {@link PRINT_CHILD}):
 * each workload gets a fresh heap holding only its own AST and data, so one workload's leftovers
 * (a 100,000-binding AST is a few hundred MB) do not slow the collections of the next, and the
 * 10× ratio compares like with like. The printer, `JSON.stringify` and the floor still run side
 * by side in that one process.
 */
function measureInChild(name: string, workload: Workload, size: number, runs: number): Measurement {
  const r = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      import.meta.filename,
      PRINT_CHILD,
      name,
      workload,
      String(size),
      String(runs),
    ],
    { encoding: "utf8", maxBuffer: 16 * MB },
  );
  if (r.status !== 0) throw new Error(`dsl-print benchmark failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Measurement;
}

function printChild(name: string, workload: Workload, size: number, runs: number): void {
  const { file, data } = WORKLOADS[workload](size);
  process.stdout.write(JSON.stringify(measure(name, file, data, runs)));
}

export async function run(): Promise<void> {
  console.log(
    "dsl-print: printFile (AST built beforehand), median of several runs, a process each",
  );
  const a1 = measureInChild("attrs 10,000 bindings", "attrs", 10_000, 15);
  report(a1);
  const a10 = measureInChild("attrs 100,000 bindings", "attrs", 100_000, 7);
  report(a10);
  const s1 = measureInChild("module 100 services", "services", 100, 15);
  report(s1);
  const s10 = measureInChild("module 1,000 services", "services", 1_000, 11);
  report(s10);
  ratio("attrs 100,000 / 10,000", a1, a10);
  ratio("services 1,000 / 100", s1, s10);
}

if (process.argv[2] === PRINT_CHILD) {
  const [name, workload, size, runs] = process.argv.slice(3) as [string, Workload, string, string];
  printChild(name, workload, Number(size), Number(runs));
}
