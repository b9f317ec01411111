/**
 * How a new repository's package.json asks for vmflake: the way the running copy was asked for,
 * so that `npm install` there gets the same vmflake whether this one came from the registry, a
 * git URL or a tarball (`npx` and `npm install` both record the request in the package.json of
 * the directory they installed into).
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";

type Deps = Readonly<Record<string, string>>;

interface Manifest {
  readonly dependencies?: Deps;
  readonly devDependencies?: Deps;
  readonly optionalDependencies?: Deps;
}

/** What the package.json at `file` asks for under the name vmflake, if it can be read. */
function askedFor(file: string): string | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  return (
    manifest.dependencies?.["vmflake"] ??
    manifest.devDependencies?.["vmflake"] ??
    manifest.optionalDependencies?.["vmflake"]
  );
}

/** The path in a request for a local tarball or directory (relative to where it was made). */
function localPath(spec: string): string | undefined {
  if (spec.startsWith("file:")) return spec.slice("file:".length);
  if (/^(\.{1,2}\/|\/)/.test(spec)) return spec;
  if (!spec.includes(":") && /\.(tgz|tar\.gz|tar)$/.test(spec)) return spec;
  return undefined;
}

/**
 * The dependency spec for vmflake in a new repository at `target`. `packageRoot` is the running
 * copy of vmflake (the directory of its package.json), `version` its version.
 */
export function vmflakeSpec(packageRoot: string, version: string, target: string): string {
  const fromHere = (path: string): string => `file:${relative(target, path) || "."}`;
  const modules = dirname(packageRoot);
  // Not installed by npm: a clone of vmflake. The new repository uses this very copy.
  if (basename(modules) !== "node_modules") return fromHere(packageRoot);
  const installRoot = dirname(modules);
  const asked = askedFor(join(installRoot, "package.json"));
  const registry = `^${version}`;
  if (asked === undefined) return registry;
  const local = localPath(asked);
  if (local !== undefined) return fromHere(resolve(installRoot, local));
  // "owner/repo", "github:owner/repo#ref", "git+https://…", "https://…/vmflake.tgz": the source,
  // as it was given. Anything else named a version on the registry.
  return /[:/]/.test(asked) ? asked : registry;
}
