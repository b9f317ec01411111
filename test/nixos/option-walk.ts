/**
 * The option paths an emitted flake sets, by a walk of its module definitions
 * (test/nixos/option-paths.nix: each module called with the module arguments of its system as
 * the stand-in nixpkgs evaluates it, so no real nixpkgs is needed and it runs in CI), told apart
 * into nixpkgs' options and the options the flake's own modules (the runtime, modules/vmflake/)
 * declare. Shared by option-paths.test.ts, nixos-options.test.ts and update-options-fixture.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostsSpec } from "../../lib/index.ts";
import { STAND_IN_NIXPKGS, evalJson, nixPath } from "../support/nix.ts";
import { PASSTHROUGH_SPEC } from "../support/passthrough-spec.ts";
import { optionName } from "./option-names.ts";
import { realEval } from "./support.ts";

const WALKER = join(import.meta.dirname, "option-paths.nix");
/**
 * The flakes whose options the fixture lists: the example, the richer description, and one whose
 * guest has host devices (the runtime's passthrough settings are conditional).
 */
export const WALKED_FLAKES: { readonly [name: string]: "example" | "rich" | HostsSpec } = {
  example: "example",
  rich: "rich",
  passthrough: PASSTHROUGH_SPEC,
};

export const FIXTURE = join(import.meta.dirname, "..", "fixtures", "nixos-options.json");

interface Defined {
  readonly kind: "own" | "inline" | "nixpkgs" | "declared";
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
  /**
   * Declared by the flake's own modules in the same system (the runtime's `vmflake.*`), so not a
   * nixpkgs option: the option itself, or one of its sub-options (`vmflake.guests.<name>.cpus`
   * under `vmflake.guests`).
   */
  readonly runtime: boolean;
  /**
   * For a runtime option: the runtime module its system imports (by which system sets it), which
   * declares it or imports the module that does.
   */
  readonly runtimeModule: RuntimeModule | undefined;
}

/** The runtime's module files that systems import, as the generated flake has them. */
export type RuntimeModule = "modules/vmflake/default.nix" | "modules/vmflake/installer.nix";

/**
 * The runtime module a system imports to get the options of runtime file `file`: the installer's
 * own, or the host module, which imports the runtime's other modules (`vms.nix` …).
 */
export function entryModuleOf(file: string): RuntimeModule {
  return file === "modules/vmflake/installer.nix"
    ? "modules/vmflake/installer.nix"
    : "modules/vmflake/default.nix";
}

export interface FlakeOptions {
  readonly set: readonly SetOption[];
  /** nixpkgs modules the emitted modules import, relative to nixos/modules. */
  readonly nixpkgsModules: readonly string[];
  /** Options the flake's own modules declare, as `where option` (e.g. `nixosModules.study vmflake.guests`). */
  readonly declared: readonly string[];
}

const startsWith = (path: readonly string[], prefix: readonly string[]) =>
  prefix.length <= path.length && prefix.every((p, i) => path[i] === p);

/** Walks the flake in `dir`. */
export function walkFlake(dir: string): FlakeOptions {
  const w = evalJson<Walk>(
    `import (/. + ${nixPath(WALKER)}) { flakeDir = /. + ${nixPath(dir)}; standIn = /. + ${nixPath(STAND_IN_NIXPKGS)}; }`,
  );
  const set: SetOption[] = [];
  const modules = new Set<string>();
  const declaredAll: string[] = [];
  const add = (where: string, defs: readonly Defined[]) => {
    // The options the flake's own modules of this system declare.
    const declared = defs.filter((d) => d.kind === "declared").map((d) => d.path);
    for (const d of declared) declaredAll.push(`${where} ${d.join(".")}`);
    // The installer ISO's system (packages.<system>.installer-<host>) imports installer.nix.
    const runtimeModule: RuntimeModule = where.startsWith("packages.")
      ? "modules/vmflake/installer.nix"
      : "modules/vmflake/default.nix";
    for (const d of defs) {
      if (d.kind === "nixpkgs") modules.add(d.path[0]!.replace(/^\//, ""));
      else if (d.kind !== "declared") {
        const runtime = declared.some((p) => startsWith(d.path, p));
        set.push({
          option: optionName(d.path),
          path: d.path,
          where,
          fromGuestConfig: d.kind === "inline",
          runtime,
          runtimeModule: runtime ? runtimeModule : undefined,
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
  return { set, nixpkgsModules: [...modules].sort(), declared: [...new Set(declaredAll)].sort() };
}

/**
 * test/fixtures/nixos-options.json: `{ "<option>": "<declaring file>", … }` for nixpkgs' options,
 * plus keys starting with `$` that are not nixpkgs options: `$comment`, `$nixosModules` (nixpkgs
 * modules the emitted modules import, each with the file it is) and `$runtimeOptions` (the
 * runtime's own options that the emitted modules set, each with the runtime module declaring
 * it).
 */
export interface OptionsFixture {
  readonly options: ReadonlyMap<string, string>;
  readonly nixosModules: ReadonlyMap<string, string>;
  readonly runtimeOptions: ReadonlyMap<string, string>;
}

export function readFixture(): OptionsFixture {
  const raw = JSON.parse(readFileSync(FIXTURE, "utf8")) as { [key: string]: unknown };
  const options = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    if (!k.startsWith("$") && typeof v === "string") options.set(k, v);
  }
  const modules = (raw.$nixosModules ?? {}) as { [module: string]: string };
  const runtime = (raw.$runtimeOptions ?? {}) as { [option: string]: string };
  return {
    options,
    nixosModules: new Map(Object.entries(modules)),
    runtimeOptions: new Map(Object.entries(runtime)),
  };
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

/** The runtime's files in this checkout, which the build copies to the flake's modules/vmflake/. */
export const RUNTIME_DIR = join(import.meta.dirname, "..", "..", "lib", "runtime", "nixos");

/** The checkout's file of a runtime module (`modules/vmflake/default.nix` → lib/runtime/nixos/…). */
export function runtimeSource(module: string): string {
  return join(RUNTIME_DIR, module.replace(/^modules\/vmflake\//, ""));
}

/**
 * The runtime module declaring an option, as the generated flake names it: the file of its
 * declaration under the checkout's lib/runtime/nixos/, as `modules/vmflake/<file>`.
 */
export function runtimeDeclaringFile(d: Declared): string | undefined {
  const prefix = `${RUNTIME_DIR}/`;
  const f = [...d.positions, ...d.declarations].find((p) => p.startsWith(prefix));
  return f === undefined ? undefined : `modules/vmflake/${f.slice(prefix.length)}`;
}

/**
 * Whether the runtime file `file` (as {@link runtimeDeclaringFile} names it) is the runtime module
 * `module` or a file that module imports (`imports = [ ./passthrough.nix ];`): a feature's
 * options are declared in its own file, which the host module imports.
 */
export function declaredBy(module: string, file: string | undefined): boolean {
  if (file === module) return true;
  const imports = /\bimports = \[([^\]]*)\]/.exec(readFileSync(runtimeSource(module), "utf8"));
  const files = [...(imports?.[1] ?? "").matchAll(/\.\/([\w.-]+\.nix)/g)];
  return file !== undefined && files.some((f) => `modules/vmflake/${f[1]}` === file);
}

/** What the real NixOS module system says of each option, in one lookup (NIXPKGS). */
export function lookupOptions(
  names: readonly string[],
  lookupIn: { nixosModules?: readonly string[]; optionModules?: readonly string[] },
): { options: { readonly [name: string]: Declared }; seconds: number } {
  const { result, seconds } = realEval<{ options: { [name: string]: Declared } }>({
    scenario: "options",
    optionPaths: names.map((n) => n.split(".")),
    nixosModules: lookupIn.nixosModules ?? [],
    optionModules: lookupIn.optionModules ?? [],
  });
  return { options: result.options, seconds };
}

/**
 * The runtime's options by the module declaring them, each looked up in a system importing that
 * module from this checkout (one lookup per module: both declare `vmflake.installer.token`, so
 * one system cannot import both).
 */
export function lookupRuntimeOptions(byModule: ReadonlyMap<string, readonly string[]>): {
  options: { readonly [name: string]: Declared & { readonly module: string } };
  seconds: number;
} {
  const options: { [name: string]: Declared & { module: string } } = {};
  let seconds = 0;
  for (const [module, names] of byModule) {
    const r = lookupOptions(names, { optionModules: [runtimeSource(module)] });
    seconds += r.seconds;
    for (const n of names) options[n] = { ...r.options[n]!, module };
  }
  return { options, seconds };
}
