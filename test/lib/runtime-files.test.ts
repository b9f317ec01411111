/**
 * The runtime (lib/runtime/nixos/, docs/design.md §6.2) as files: the list the build copies is the
 * folder, each `.nix` parses (and is nixfmt's fixed point when NIXFMT names a real nixfmt), each
 * file carries the runtime mark, every build copies the same bytes whatever hosts.ts says, and a
 * build over an older output removes runtime files that are gone without touching a user's own.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_FILES, RUNTIME_MARK, RUNTIME_OUTPUT_DIR } from "../../lib/runtime/files.ts";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith, nixEnv } from "../support/tools.ts";

const RUNTIME_DIR = join(REPO_ROOT, "lib", "runtime", "nixos");
const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));

/** Every file under `dir` with its bytes, by path relative to `dir`. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const f = join(d, e);
      if (statSync(f).isDirectory()) walk(f);
      else out[relative(dir, f)] = readFileSync(f, "utf8");
    }
  };
  walk(dir);
  return out;
}

/** Writes `hosts.ts` (the object given to defineHosts) into `dir` and builds into `dir/flake`. */
async function buildFlake(dir: string, hostsObject: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "hosts.ts"),
    `import { defineHosts } from ${lib};\nexport default defineHosts(${hostsObject});\n`,
  );
  const out = join(dir, "flake");
  const r = await build(["--hosts", join(dir, "hosts.ts"), "--out", out, "--no-typecheck"]);
  if (r.code !== 0) throw new Error(`build failed (${r.code}):\n${r.stderr}`);
  return out;
}

const ONE_HOST = `{ hosts: {
  study: {
    lan: { nic: "enp0s31f6", bridge: "vbridge0" },
    stateVersion: "26.05",
    guests: { alice: { memory: "1G", disk: "40G", vnc: 1, tap: "tap0" } },
  },
} }`;

const THREE_HOSTS = `{ hosts: {
  lab: {
    lan: { nic: "eno1", bridge: "br0", address: { addresses: ["192.0.2.2/24"], gateway: "192.0.2.1" }, bridgeMac: "02:00:00:00:00:01" },
    stateVersion: "25.11",
    offlineInstall: true,
    guests: {
      carol: { memory: "512M", disk: "4G", cpus: 4 },
      dave: { memory: "8G", disk: "1T", offlineInstall: false, autostart: false, shutdownTimeout: 5 },
    },
  },
  rack: {
    lan: { nic: "enp3s0", bridge: "vbr0", bypassHostFirewall: false },
    stateVersion: "26.05",
    stateDir: "/var/lib/vms",
    guests: { erin: { memory: "768M", disk: "12G", vnc: 7, vncListenAddress: "0.0.0.0" } },
  },
  edge: {
    lan: { nic: "eth0", bridge: "br-edge" },
    stateVersion: "26.05",
    guests: { frank: { memory: "2G", disk: "20G", installTimeout: 600, tap: "tap-frank" } },
  },
} }`;

describe("the runtime's files", () => {
  it("RUNTIME_FILES is the folder lib/runtime/nixos/, file by file", () => {
    expect([...RUNTIME_FILES]).toEqual(Object.keys(tree(RUNTIME_DIR)).sort());
  });

  it("every file starts with the runtime mark", () => {
    for (const f of RUNTIME_FILES) {
      expect(readFileSync(join(RUNTIME_DIR, f), "utf8").startsWith(RUNTIME_MARK), f).toBe(true);
    }
  });
});

describeWith(["nix-instantiate"], "the runtime's Nix files (real Nix)", () => {
  const nixFiles = RUNTIME_FILES.filter((f) => f.endsWith(".nix"));

  it("every .nix parses", () => {
    expect(nixFiles.length).toBeGreaterThan(0);
    for (const f of nixFiles) {
      execFileSync("nix-instantiate", ["--parse", join(RUNTIME_DIR, f)], {
        env: nixEnv,
        stdio: "pipe",
      });
    }
  });

  // NIXFMT names a real nixfmt (the machines' stand-in formatter is `true`); the runtime is
  // written as `nix fmt` would leave it, so formatting a generated flake changes nothing.
  const nixfmt = process.env.NIXFMT;
  if (nixfmt === undefined)
    console.warn("SKIPPED: set NIXFMT=/path/to/nixfmt for the nixfmt check");
  it.runIf(nixfmt !== undefined).each(nixFiles)("%s is a fixed point of nixfmt --strict", (f) => {
    const text = readFileSync(join(RUNTIME_DIR, f), "utf8");
    expect(execFileSync(nixfmt!, ["--strict", "-"], { input: text, encoding: "utf8" })).toBe(text);
  });
});

describe("the runtime in built flakes", () => {
  const dir = tempDir("vmflake-runtime-files-");
  let one = "";
  let three = "";
  beforeAll(async () => {
    one = await buildFlake(join(dir, "one"), ONE_HOST);
    three = await buildFlake(join(dir, "three"), THREE_HOSTS);
  });

  it(`${RUNTIME_OUTPUT_DIR}/ is lib/runtime/nixos/, byte for byte, whatever hosts.ts says`, () => {
    const runtime = tree(RUNTIME_DIR);
    const a = tree(join(one, RUNTIME_OUTPUT_DIR));
    const b = tree(join(three, RUNTIME_OUTPUT_DIR));
    expect(a).toEqual(runtime);
    expect(b).toEqual(runtime);
    // The two descriptions differ (one host against three, other guests and settings).
    const valuesFiles = (flake: string) =>
      Object.keys(tree(join(flake, "modules")))
        .filter((f) => !f.startsWith("vmflake/"))
        .sort();
    expect(valuesFiles(one)).toEqual(["installer/study.nix", "study.nix", "study/alice.nix"]);
    expect(valuesFiles(three)).toEqual([
      "edge.nix",
      "edge/frank.nix",
      "installer/edge.nix",
      "installer/lab.nix",
      "installer/rack.nix",
      "lab.nix",
      "lab/carol.nix",
      "lab/dave.nix",
      "rack.nix",
      "rack/erin.nix",
    ]);
  });

  it("a build over an old output removes a runtime file no longer listed, never a user's own", async () => {
    const d = join(dir, "old");
    const out = await buildFlake(d, ONE_HOST);
    const vm = join(out, RUNTIME_OUTPUT_DIR);
    // Left by an older vmflake: runtime files that the current runtime no longer has.
    writeFileSync(join(vm, "scripts", "retired.sh"), `${RUNTIME_MARK}an old program\necho old\n`);
    mkdirSync(join(vm, "old"));
    writeFileSync(join(vm, "old", "gone.nix"), `${RUNTIME_MARK}an old module\n{ }\n`);
    // The user's own: no mark (a module, a script, a note), even beside the runtime's files.
    const own = {
      "local.nix": "# my own overrides\n{ lib, ... }: { }\n",
      "scripts/mine.sh": "#!/bin/sh\necho mine\n",
      "NOTES.md": "my notes\n",
    };
    for (const [f, text] of Object.entries(own)) writeFileSync(join(vm, f), text);
    // A runtime file edited by hand but still carrying the mark is the build's: put back.
    const qemuNix = join(vm, "qemu.nix");
    writeFileSync(qemuNix, `${RUNTIME_MARK}edited\n{ lib }: { }\n`);

    const r = await build(["--hosts", join(d, "hosts.ts"), "--out", out, "--no-typecheck"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`remove ${RUNTIME_OUTPUT_DIR}/scripts/retired.sh`);
    expect(r.stdout).toContain(`remove ${RUNTIME_OUTPUT_DIR}/old/gone.nix`);
    expect(r.stdout).toContain(`update ${RUNTIME_OUTPUT_DIR}/qemu.nix`);
    expect(existsSync(join(vm, "scripts", "retired.sh"))).toBe(false);
    expect(existsSync(join(vm, "old"))).toBe(false);
    for (const [f, text] of Object.entries(own))
      expect(readFileSync(join(vm, f), "utf8")).toBe(text);
    const ownPaths = Object.keys(own);
    expect(
      Object.fromEntries(Object.entries(tree(vm)).filter(([f]) => !ownPaths.includes(f))),
    ).toEqual(tree(RUNTIME_DIR));
  });

  it("a user's file where a runtime file goes is refused, and nothing is written", async () => {
    const d = join(dir, "clash");
    const out = await buildFlake(d, ONE_HOST);
    const before = tree(out);
    const mine = "# my own default.nix, without the mark\n{ }\n";
    writeFileSync(join(out, RUNTIME_OUTPUT_DIR, "default.nix"), mine);
    writeFileSync(
      join(d, "hosts.ts"),
      readFileSync(join(d, "hosts.ts"), "utf8").replace("1G", "2G"),
    );
    const r = await build(["--hosts", join(d, "hosts.ts"), "--out", out, "--no-typecheck"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `${RUNTIME_OUTPUT_DIR}/default.nix exists and was not generated by vmflake`,
    );
    expect(tree(out)).toEqual({ ...before, [`${RUNTIME_OUTPUT_DIR}/default.nix`]: mine });
  });
});
