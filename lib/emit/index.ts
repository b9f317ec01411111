/** Every file of the generated flake: printed Nix ASTs, and the runtime's files copied as they are. */
import type { NixFile } from "../../dsl/index.ts";
import type { ResolvedSpec } from "../model.ts";
import { RUNTIME_FILES, RUNTIME_OUTPUT_DIR, RUNTIME_SOURCE } from "../runtime/files.ts";
import { flakeFile } from "./flake.ts";
import { guestSystemFile } from "./guest-system.ts";
import { hostModuleFile } from "./host-module.ts";
import { installerModuleFile } from "./installer.ts";
import { FLAKE_PATH, guestModulePath, hostModulePath, installerModulePath } from "./paths.ts";

/** One printed output file: where it goes and what it holds. */
export interface OutputFile {
  readonly path: string;
  readonly file: NixFile;
}

/** One runtime file: where it goes, and the file (a `file:` URL) whose bytes it gets. */
export interface CopiedFile {
  readonly path: string;
  readonly source: URL;
}

/** The flake for a resolved description; `source` names the hosts file in headers. */
export function emitFlake(spec: ResolvedSpec, source: string): OutputFile[] {
  const files: OutputFile[] = [{ path: FLAKE_PATH, file: flakeFile(spec, source) }];
  for (const h of spec.hosts) {
    files.push({ path: hostModulePath(h.name), file: hostModuleFile(h, source, spec.hosts) });
    for (const g of h.guests) {
      files.push({ path: guestModulePath(h.name, g.name), file: guestSystemFile(h, g, source) });
    }
    files.push({ path: installerModulePath(h.name), file: installerModuleFile(h, source) });
  }
  return files;
}

/** The runtime's files, the same for every description (`modules/vmflake/…`). */
export function runtimeFiles(): CopiedFile[] {
  return RUNTIME_FILES.map((f) => ({
    path: `${RUNTIME_OUTPUT_DIR}/${f}`,
    source: new URL(f, RUNTIME_SOURCE),
  }));
}
