/**
 * The option paths an emitted flake sets, by a static walk of its module definitions
 * (test/nixos/option-paths.nix, with the stand-in nixpkgs: no real nixpkgs needed, so it runs in
 * CI). Shared by option-paths.test.ts and update-options-fixture.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { STAND_IN_NIXPKGS, evalJson, nixPath } from "../support/nix.ts";
import { optionName } from "./option-names.ts";

const WALKER = join(import.meta.dirname, "option-paths.nix");
export const FIXTURE = join(import.meta.dirname, "..", "fixtures", "nixos-options.json");

interface Defined {
  readonly kind: "own" | "inline" | "nixpkgs";
  readonly path: readonly string[];
}

interface Walk {
  readonly nixosModules: { readonly [name: string]: readonly Defined[] };
  readonly nixosConfigurations: { readonly [name: string]: readonly Defined[] };
  readonly packages: { readonly [system: string]: { readonly [name: string]: readonly Defined[] } };
  readonly checks: { readonly [system: string]: { readonly [name: string]: string } };
}

/** One option set by an emitted module, with where it was found. */
export interface SetOption {
  /** The option name with `<name>` placeholders, e.g. `systemd.services.<name>.serviceConfig`. */
  readonly option: string;
  /** The raw attribute path. */
  readonly path: readonly string[];
  /** Which output defined it, e.g. `nixosModules.study`, `checks.x86_64-linux.host-study`. */
  readonly where: string;
  /** Set by a guest's own settings from the hosts file (an inline module the guest imports). */
  readonly fromGuestConfig: boolean;
}

export interface FlakeOptions {
  readonly set: readonly SetOption[];
  /** nixpkgs modules the emitted modules import, relative to nixos/modules. */
  readonly nixpkgsModules: readonly string[];
}

/** Walks the flake in `dir`. */
export function walkFlake(dir: string): FlakeOptions {
  const w = evalJson<Walk>(
    `import (/. + ${nixPath(WALKER)}) { flakeDir = /. + ${nixPath(dir)}; standIn = /. + ${nixPath(STAND_IN_NIXPKGS)}; }`,
  );
  const set: SetOption[] = [];
  const modules = new Set<string>();
  const add = (where: string, defs: readonly Defined[]) => {
    for (const d of defs) {
      if (d.kind === "nixpkgs") modules.add(d.path[0]!.replace(/^\//, ""));
      else {
        set.push({
          option: optionName(d.path),
          path: d.path,
          where,
          fromGuestConfig: d.kind === "inline",
        });
      }
    }
  };
  for (const [n, defs] of Object.entries(w.nixosModules)) add(`nixosModules.${n}`, defs);
  for (const [n, defs] of Object.entries(w.nixosConfigurations)) {
    add(`nixosConfigurations.${n}`, defs);
  }
  for (const [system, ps] of Object.entries(w.packages)) {
    for (const [n, defs] of Object.entries(ps)) add(`packages.${system}.${n}`, defs);
  }
  // A check's command embeds the record of every nixosSystem it evaluates between @@ markers.
  for (const [system, cs] of Object.entries(w.checks)) {
    for (const [n, command] of Object.entries(cs)) {
      for (const m of command.matchAll(/@@(.*?)@@/g)) {
        add(`checks.${system}.${n}`, JSON.parse(m[1]!) as Defined[]);
      }
    }
  }
  return { set, nixpkgsModules: [...modules].sort() };
}

/**
 * test/fixtures/nixos-options.json: `{ "<option>": "<declaring file>", … }`, plus keys starting
 * with `$` that are not options: `$comment`, and `$nixosModules` (nixpkgs modules the emitted
 * modules import, each with the file it is).
 */
export interface OptionsFixture {
  readonly options: ReadonlyMap<string, string>;
  readonly nixosModules: ReadonlyMap<string, string>;
}

export function readFixture(): OptionsFixture {
  const raw = JSON.parse(readFileSync(FIXTURE, "utf8")) as { [key: string]: unknown };
  const options = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    if (!k.startsWith("$") && typeof v === "string") options.set(k, v);
  }
  const modules = (raw.$nixosModules ?? {}) as { [module: string]: string };
  return { options, nixosModules: new Map(Object.entries(modules)) };
}

/** What real-nixos.nix's "options" scenario says about one option. */
export interface Declared {
  readonly exists: boolean;
  readonly declarations: readonly string[];
  readonly positions: readonly string[];
}

/**
 * The file where an option's `mkOption` is written: its first declaration position inside
 * nixpkgs (for `systemd.services.<name>.serviceConfig` that is nixos/lib/systemd-unit-options.nix,
 * while NixOS's `declarations` names nixos/modules/system/boot/systemd.nix, which uses it).
 */
export function declaringFile(d: Declared): string | undefined {
  const inside = (f: string) => !f.startsWith("/");
  return d.positions.find(inside) ?? d.declarations.find(inside) ?? d.declarations[0];
}
