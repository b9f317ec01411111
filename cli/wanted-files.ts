/** The text of every file a build writes: the printed Nix files and the runtime's files. */
import { readFileSync } from "node:fs";
import { printFile } from "../dsl/index.ts";
import { type ResolvedSpec, emitFlake, runtimeFiles } from "../lib/index.ts";

/** Output path → text, for a resolved description; `source` names the hosts file in headers. */
export function wantedFiles(resolved: ResolvedSpec, source: string): Map<string, string> {
  const wanted = new Map(emitFlake(resolved, source).map((f) => [f.path, printFile(f.file)]));
  for (const f of runtimeFiles()) wanted.set(f.path, readFileSync(f.source, "utf8"));
  return wanted;
}
