/**
 * The text of every file a build writes: the printed Nix files, the runtime's files and the
 * topology picture.
 */
import { readFileSync } from "node:fs";
import { printFile } from "../dsl/index.ts";
import { type ResolvedSpec, emitFlake, runtimeFiles } from "../lib/index.ts";
import { TOPOLOGY_PATH, topologySvg } from "./topology-svg.ts";

/** Output path → text, for a resolved description; `source` names the hosts file in headers. */
export async function wantedFiles(
  resolved: ResolvedSpec,
  source: string,
): Promise<Map<string, string>> {
  const wanted = new Map(emitFlake(resolved, source).map((f) => [f.path, printFile(f.file)]));
  for (const f of runtimeFiles()) wanted.set(f.path, readFileSync(f.source, "utf8"));
  wanted.set(TOPOLOGY_PATH, await topologySvg(resolved, source));
  return wanted;
}
