/** Every file of the generated flake, as Nix ASTs keyed by relative path. */
import type { NixFile } from "../../dsl/index.ts";
import type { ResolvedSpec } from "../model.ts";
import { flakeFile } from "./flake.ts";
import { guestSystemFile } from "./guest-system.ts";
import { hostModuleFile } from "./host-module.ts";
import { installerModuleFile } from "./installer.ts";
import { FLAKE_PATH, guestModulePath, hostModulePath, installerModulePath } from "./paths.ts";

/** One output file: where it goes and what it holds. */
export interface OutputFile {
  readonly path: string;
  readonly file: NixFile;
}

/** The flake for a resolved description; `source` names the hosts file in headers. */
export function emitFlake(spec: ResolvedSpec, source: string): OutputFile[] {
  const files: OutputFile[] = [{ path: FLAKE_PATH, file: flakeFile(spec, source) }];
  for (const h of spec.hosts) {
    files.push({ path: hostModulePath(h.name), file: hostModuleFile(h, source) });
    for (const g of h.guests) {
      files.push({ path: guestModulePath(h.name, g.name), file: guestSystemFile(h, g, source) });
    }
    files.push({ path: installerModulePath(h.name), file: installerModuleFile(h, source) });
  }
  return files;
}
