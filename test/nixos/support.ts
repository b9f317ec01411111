/**
 * The real NixOS tier: the emitted flake evaluated by the real NixOS module system of a nixpkgs
 * checkout named by `NIXPKGS`. Helpers shared by test/nixos/*.test.ts: building the example and a
 * richer description in-process, resolving NIXPKGS to a store path once, running Nix, reading
 * .drv files.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe } from "vitest";
import { runBuild } from "../../cli/main.ts";
import type { HostsSpec } from "../../lib/index.ts";
import { nixEnv } from "../support/tools.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
const HARNESS = join(import.meta.dirname, "real-nixos.nix");

/** The nixpkgs checkout to evaluate against, or undefined (the tier is skipped). */
export const NIXPKGS: string | undefined = process.env.NIXPKGS || undefined;

/**
 * A `describe` that runs only when NIXPKGS is set. CI has no nixpkgs checkout, so this skip is
 * allowed even under REQUIRE_INTEGRATION=1; it is said out loud in the test name and on stderr.
 */
export function describeNixpkgs(name: string, body: () => void): void {
  if (NIXPKGS === undefined) {
    console.warn(`SKIPPED (real NixOS tier): ${name}: set NIXPKGS=/path/to/nixpkgs to run it`);
  }
  describe.skipIf(NIXPKGS === undefined)(
    NIXPKGS === undefined ? `${name} [skipped: set NIXPKGS=/path/to/nixpkgs]` : name,
    body,
  );
}

/**
 * Environment for Nix 2.8 here. GC_DONT_GC: Debian's Nix 2.8 with its libgc segfaults in
 * GC_push_all_eager (a collection during builtins.match) on some NixOS evaluations, depending only
 * on evaluation order (seen with the scripted network backend and a qemu-guest unit); without a
 * collection the same evaluation succeeds with about 1.2 GB.
 */
export const realNixEnv: NodeJS.ProcessEnv = { ...nixEnv, GC_DONT_GC: "1" };

export interface NixRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs a Nix command; never throws on a non-zero exit (the caller asserts on `status`). */
export function runNix(cmd: string, args: readonly string[], cwd?: string): NixRun {
  const start = performance.now();
  const r = spawnSync(cmd, args, {
    env: realNixEnv,
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd === undefined ? {} : { cwd }),
  });
  const seconds = (performance.now() - start) / 1000;
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds };
}

function mustRun(cmd: string, args: readonly string[]): NixRun {
  const r = runNix(cmd, args);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  }
  return r;
}

const STORE_SOURCE = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-source$/;
let storePath: string | undefined;

/**
 * NIXPKGS as a store path named `source`, so that `path:<it>` flake references and getFlake use
 * it as is. A checkout outside the store is hashed (`nix hash path`, seconds) and, when a store
 * path of that content already exists, reused without copying; otherwise it is copied once.
 */
export function nixpkgsStorePath(): string {
  if (storePath !== undefined) return storePath;
  if (NIXPKGS === undefined) throw new Error("NIXPKGS is not set");
  const dir = resolve(NIXPKGS);
  if (STORE_SOURCE.test(dir)) {
    storePath = dir;
  } else {
    const hash = mustRun("nix", ["hash", "path", "--base32", dir]).stdout.trim();
    const expr = `builtins.toString (builtins.path { path = /. + ${JSON.stringify(dir)}; name = "source"; sha256 = ${JSON.stringify(hash)}; })`;
    storePath = mustRun("nix", ["eval", "--raw", "--impure", "--expr", expr]).stdout.trim();
  }
  if (!STORE_SOURCE.test(storePath)) throw new Error(`unexpected store path ${storePath}`);
  return storePath;
}

let fullListFlake: string | undefined;

/**
 * A `path:` flake reference to NIXPKGS as a flake input whose `lib.nixosSystem` also imports the
 * modules upstream's module list always has and a slimmed snapshot may leave out
 * (unlisted-modules.nix): for the tests that evaluate an emitted flake through `nix flake`, where
 * the harness cannot add them. Everything else is the snapshot's own (`import nixpkgs` too).
 */
export function fullModuleListNixpkgs(): string {
  if (fullListFlake !== undefined) return fullListFlake;
  const upstream = nixpkgsStorePath();
  const dir = mkdtempSync(join(tmpdir(), "vmflake-nixpkgs-full-list-"));
  tempRoots.push(dir);
  writeFileSync(
    join(dir, "unlisted-modules.nix"),
    readFileSync(join(import.meta.dirname, "unlisted-modules.nix")),
  );
  writeFileSync(join(dir, "default.nix"), `import ${upstream}\n`);
  writeFileSync(
    join(dir, "flake.nix"),
    `{
  inputs.upstream.url = ${JSON.stringify(`path:${upstream}`)};
  outputs = { self, upstream }: upstream // {
    lib = upstream.lib // {
      nixosSystem = args: upstream.lib.nixosSystem (args // {
        modules = (args.modules or [ ]) ++ (import ./unlisted-modules.nix upstream).all;
      });
    };
  };
}
`,
  );
  fullListFlake = `path:${dir}`;
  return fullListFlake;
}

/** A Nix expression for a JSON-like value (strings, booleans, lists). */
function toNix(v: string | boolean | readonly string[] | readonly (readonly string[])[]): string {
  if (typeof v === "string") return JSON.stringify(v).replaceAll("${", "\\${");
  if (typeof v === "boolean") return String(v);
  return `[ ${v.map((x) => toNix(x)).join(" ")} ]`;
}

/** A Nix path expression for an absolute file-system path. */
function nixPathExpr(p: string): string {
  return `(/. + ${toNix(p)})`;
}

/** One call of test/nixos/real-nixos.nix: which system, and what to return about it. */
export type EvalArgs =
  | {
      readonly scenario: "host" | "units" | "toplevel";
      readonly flakeDir: string;
      readonly host: string;
      readonly networkd?: boolean;
      /** More modules (absolute paths of .nix files) for the host system. */
      readonly extraModules?: readonly string[];
    }
  | { readonly scenario: "guest"; readonly flakeDir: string; readonly guest: string }
  | {
      readonly scenario: "values";
      readonly flakeDir: string;
      readonly guest: string;
      readonly valuePaths: readonly (readonly string[])[];
    }
  | {
      readonly scenario: "options";
      readonly optionPaths: readonly (readonly string[])[];
      readonly nixosModules?: readonly string[];
      /** Modules outside nixpkgs (absolute paths) whose options are looked up too. */
      readonly optionModules?: readonly string[];
    };

function harnessFields(args: EvalArgs): string[] {
  const fields = [`nixpkgs = ${toNix(nixpkgsStorePath())};`, `scenario = ${toNix(args.scenario)};`];
  if (args.scenario === "options") {
    fields.push(
      `flakeDir = /.;`,
      `optionPaths = ${toNix(args.optionPaths)};`,
      `nixosModules = ${toNix(args.nixosModules ?? [])};`,
      `optionModules = [ ${(args.optionModules ?? []).map(nixPathExpr).join(" ")} ];`,
    );
  } else {
    fields.push(`flakeDir = ${nixPathExpr(args.flakeDir)};`);
    if (args.scenario === "guest") fields.push(`guest = ${toNix(args.guest)};`);
    else if (args.scenario === "values") {
      fields.push(`guest = ${toNix(args.guest)};`, `valuePaths = ${toNix(args.valuePaths)};`);
    } else {
      fields.push(
        `host = ${toNix(args.host)};`,
        `networkd = ${toNix(args.networkd ?? false)};`,
        `extraModules = [ ${(args.extraModules ?? []).map(nixPathExpr).join(" ")} ];`,
      );
    }
  }
  return fields;
}

/** The `nix eval` arguments of one harness call. */
function harnessArgs(args: EvalArgs): string[] {
  const expr = `import ${nixPathExpr(HARNESS)} { ${harnessFields(args).join(" ")} }`;
  return ["eval", "--impure", "--json", "--expr", expr];
}

/**
 * One `nix eval --json` of test/nixos/real-nixos.nix (one NixOS system per call, see its
 * header); the parsed result and the wall time.
 */
export function realEval<T>(args: EvalArgs): { result: T; seconds: number } {
  const r = mustRun("nix", harnessArgs(args));
  return { result: JSON.parse(r.stdout) as T, seconds: r.seconds };
}

export interface TimedEval<T> {
  readonly result: T;
  /** Elapsed seconds as /usr/bin/time reports them. */
  readonly seconds: number;
  /** User plus system CPU seconds of the nix process (what load on a shared machine hardly changes). */
  readonly cpuSeconds: number;
  /** Peak resident memory of the nix process. */
  readonly maxRssMiB: number;
}

/** realEval under /usr/bin/time (`%e %U %S %M`): wall and CPU time, peak memory of the nix process. */
export function realEvalTimed<T>(args: EvalArgs): TimedEval<T> {
  const r = runNix("/usr/bin/time", ["-f", "%e %U %S %M", "nix", ...harnessArgs(args)]);
  const lines = r.stderr.trim().split("\n");
  const [seconds, user, system, kb] = lines[lines.length - 1]!.split(" ").map(Number);
  if (
    r.status !== 0 ||
    [seconds, user, system, kb].some((x) => x === undefined || Number.isNaN(x))
  ) {
    throw new Error(`nix eval (${args.scenario}) failed (${r.status}):\n${r.stderr}`);
  }
  return {
    result: JSON.parse(r.stdout) as T,
    seconds: seconds!,
    cpuSeconds: user! + system!,
    maxRssMiB: Math.round(kb! / 1024),
  };
}

/** Prints a timing line that stays in the test output (the brief asks for eval times). */
export function reportTime(what: string, seconds: number): void {
  console.log(`[real NixOS tier] ${what}: ${seconds.toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------
// Descriptions

const SSH_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";

/**
 * The richer description: two hosts; a static host address with a fixed bridge MAC; a guest that
 * does not start with the host; a guest with a static IPv4; a guest with its own NixOS settings
 * (dnsmasq: nginx is not in the slim snapshot's module list); guests whose names are too long for
 * `vm-<name>` taps, so they get hashed default taps; a guest installed offline (its system in the
 * installer ISO). Addresses are from TEST-NET-1.
 */
export const RICH_SPEC = {
  hosts: {
    lab: {
      lan: {
        nic: "eno1",
        bridge: "br-lan",
        address: { addresses: ["192.0.2.10/24"], gateway: "192.0.2.1", dns: ["192.0.2.53"] },
        bridgeMac: "02:00:00:00:0a:01",
      },
      sshKeys: [SSH_KEY],
      stateVersion: "26.05",
      guests: {
        "database-primary-eu": {
          memory: "2G",
          disk: "30G",
          cpus: 2,
          ipv4: { addresses: ["192.0.2.20/24"], gateway: "192.0.2.1", dns: ["192.0.2.53"] },
        },
        web: {
          memory: "512M",
          disk: "8G",
          vnc: 3,
          config: { services: { dnsmasq: { enable: true } } },
        },
      },
    },
    rack: {
      lan: { nic: "enp3s0", bridge: "vbr0" },
      stateVersion: "26.05",
      guests: {
        "nightly-builder-arm": { memory: "1G", disk: "10G", autostart: false, shutdownTimeout: 30 },
        cache: { memory: "768M", disk: "12G", tap: "tap-cache", offlineInstall: true },
      },
    },
  },
} as const satisfies HostsSpec;

/** A hosts file for `spec`, importing vmflake from this checkout by absolute path. */
export function hostsSource(spec: HostsSpec): string {
  const lib = join(REPO_ROOT, "lib", "index.ts");
  return [
    `import { defineHosts } from ${JSON.stringify(lib)};`,
    "",
    `export default defineHosts(${JSON.stringify(spec, null, 2)});`,
    "",
  ].join("\n");
}

/** The hosts file of RICH_SPEC. */
export function richHostsSource(): string {
  return hostsSource(RICH_SPEC);
}

/** Temp dirs of built flakes, until removeBuiltFlakes. */
const tempRoots: string[] = [];

/** Removes every flake buildFlake made (tests call it in afterAll). */
export function removeBuiltFlakes(): void {
  for (const r of tempRoots.splice(0)) rmSync(r, { recursive: true, force: true });
}

export interface BuiltFlake {
  readonly dir: string;
  readonly stdout: string;
}

/**
 * Builds a flake in-process, as `npx tsx build.ts --hosts … --out …` would, into a new temp dir.
 * `which`: the repo's example hosts.ts, the richer description, or a description of the caller's
 * (written into the temp dir as hosts.ts).
 */
export async function buildFlake(which: "example" | "rich" | HostsSpec): Promise<BuiltFlake> {
  const label = typeof which === "string" ? which : "spec";
  const root = mkdtempSync(join(tmpdir(), `vmflake-nixos-${label}-`));
  tempRoots.push(root);
  let hostsFile = join(REPO_ROOT, "hosts.ts");
  if (which !== "example") {
    hostsFile = join(root, "hosts.ts");
    writeFileSync(hostsFile, hostsSource(which === "rich" ? RICH_SPEC : which));
  }
  const dir = join(root, "flake");
  mkdirSync(dir);
  let stdout = "";
  let stderr = "";
  const code = await runBuild(["--hosts", hostsFile, "--out", dir, "--no-typecheck"], REPO_ROOT, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  if (code !== 0) throw new Error(`build of the ${label} flake exited ${code}:\n${stderr}`);
  return { dir, stdout };
}

/** Writes `text` as a .nix file in a temp dir removed by removeBuiltFlakes; its path. */
export function writeNixModule(name: string, text: string): string {
  const root = mkdtempSync(join(tmpdir(), "vmflake-nixos-module-"));
  tempRoots.push(root);
  const file = join(root, `${name}.nix`);
  writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Reading what NixOS rendered

/** The values of every `Key=` line of a unit or .network/.netdev file (all sections). */
export function unitValues(text: string, key: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

/** The lines of one `[Section]` of a unit file. */
export function unitSection(text: string, section: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of text.split("\n")) {
    if (/^\[.*\]$/.test(line)) inside = line === `[${section}]`;
    else if (inside && line !== "") out.push(line);
  }
  return out;
}

type ATerm = string | ATerm[] | { readonly ctor: string; readonly args: ATerm[] };

/** Parses a .drv file (ATerm: `Derive([...],...)`). */
export function parseATerm(text: string): ATerm {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`bad ATerm at ${i}: expected ${what}`);
  };
  const parseString = (): string => {
    if (text[i] !== '"') fail('"');
    i++;
    let s = "";
    for (;;) {
      const c = text[i++];
      if (c === undefined) return fail("closing quote");
      if (c === '"') return s;
      if (c === "\\") {
        const e = text[i++];
        s += e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : (e ?? "");
      } else s += c;
    }
  };
  const parseSeq = (close: string): ATerm[] => {
    const items: ATerm[] = [];
    i++;
    if (text[i] === close) {
      i++;
      return items;
    }
    for (;;) {
      items.push(parseValue());
      const c = text[i++];
      if (c === close) return items;
      if (c !== ",") fail(`, or ${close}`);
    }
  };
  const parseValue = (): ATerm => {
    const c = text[i];
    if (c === '"') return parseString();
    if (c === "[") return parseSeq("]");
    if (c === "(") return parseSeq(")");
    const m = /^[A-Za-z]+/.exec(text.slice(i, i + 32));
    if (!m) return fail("a value");
    i += m[0].length;
    if (text[i] !== "(") fail("(");
    return { ctor: m[0], args: parseSeq(")") };
  };
  return parseValue();
}

/** The environment of a derivation, from its .drv file in the store. */
export function drvEnv(drvPath: string): Record<string, string> {
  const t = parseATerm(readFileSync(drvPath, "utf8"));
  if (typeof t !== "object" || Array.isArray(t) || t.ctor !== "Derive") {
    throw new Error(`${drvPath} is not a derivation`);
  }
  const env = t.args[6];
  if (!Array.isArray(env)) throw new Error(`${drvPath}: no environment`);
  const out: Record<string, string> = {};
  for (const pair of env) {
    if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") {
      out[pair[0]] = pair[1];
    }
  }
  return out;
}

/** The one .drv among `drvs` whose name (after the hash) is `name`. */
export function drvNamed(drvs: readonly string[], name: string): string {
  const found = drvs.filter((d) => d.replace(/^\/nix\/store\/[^-]+-/, "") === `${name}.drv`);
  if (found.length !== 1) throw new Error(`expected one ${name}.drv among ${drvs.join(", ")}`);
  return found[0]!;
}
