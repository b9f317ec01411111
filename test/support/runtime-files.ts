/**
 * The runtime's shell programs as the generated flake gets them: the files under
 * `lib/runtime/nixos/scripts/`, copied verbatim into `modules/vmflake/scripts/`, where the NixOS
 * module builds each with `writeShellApplication { text = builtins.readFile ./scripts/<name>.sh; }`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's `lib/`, where every `.sh` must pass writeShellApplication's checks. */
export const libDir = fileURLToPath(new URL("../../lib/", import.meta.url));

/** `lib/runtime/nixos/scripts/`. */
export const runtimeScriptsDir = join(libDir, "runtime", "nixos", "scripts");

/** The scripts the NixOS module builds, by the `<name>` of `scripts/<name>.sh`. */
export type RuntimeScriptName =
  | "stop-guest"
  | "prepare-disk"
  | "install-guest"
  | "installer"
  | "tap"
  | "vfio-bind"
  | "format-guard"
  | "vms"
  | "check-firmware";

/** Path of `scripts/<name>.sh`. */
export function runtimeScriptPath(name: RuntimeScriptName): string {
  return join(runtimeScriptsDir, `${name}.sh`);
}

/** The text of `scripts/<name>.sh`, as `builtins.readFile` gives it to writeShellApplication. */
export function runtimeScript(name: RuntimeScriptName): string {
  return readFileSync(runtimeScriptPath(name), "utf8");
}

/** Every `.sh` file under `lib/`, as paths relative to it, sorted. */
export function shellFilesUnderLib(): string[] {
  return readdirSync(libDir, { recursive: true, encoding: "utf8" })
    .filter((p) => p.endsWith(".sh"))
    .sort();
}

/**
 * The single-quoted value of the first `name='…'` assignment in `text`. The scripts keep their
 * regexes in such variables, so tests can compare them with the TypeScript ones.
 */
export function shellAssignment(text: string, name: string): string {
  const m = new RegExp(`^${name}='([^']*)'$`, "m").exec(text);
  if (m === null) throw new Error(`no ${name}='…' line`);
  return m[1]!;
}
