/**
 * The build command as a function: type-check, load, validate, print and write. `vmflake/build`
 * (a repository's build.ts) and `vmflake build` are its command-line entries; tests call it
 * in-process with their own streams.
 */
import { existsSync } from "node:fs";
import { basename, dirname, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError, USAGE, parseArgs } from "./args.ts";
import { unifiedDiff } from "./diff.ts";
import { type Change, planChanges } from "./output-plan.ts";
import { changeList, guestTable } from "./summary.ts";
import { typecheckFile } from "./typecheck.ts";
import { readGenerated, staleReason } from "./types/generated-files.ts";
import { generate } from "./types/run-types.ts";
import { wantedFiles } from "./wanted-files.ts";
import { applyChanges } from "./write-files.ts";
import { SpecError, resolveSpec } from "../lib/index.ts";

/** Where a command writes its messages. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** The process's own stdout and stderr. */
export const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/**
 * Run the build; resolves to the exit code (see `--help`). `defaultOut` is where the flake goes
 * without `--out`: the directory of build.ts, or the current one for `vmflake build`.
 */
export async function runBuild(
  argv: readonly string[],
  defaultOut: string,
  io: Io = processIo,
): Promise<number> {
  try {
    return await build(argv, defaultOut, io);
  } catch (e) {
    io.stderr(
      e instanceof UsageError
        ? `${e.message}\n\n${USAGE}`
        : `error: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    return 2;
  }
}

async function build(argv: readonly string[], defaultOut: string, io: Io): Promise<number> {
  const opts = parseArgs(argv, defaultOut);
  if (opts.help) {
    io.stdout(USAGE);
    return 0;
  }
  const hostsFile = resolve(opts.hosts);
  const out = resolve(opts.out);
  if (!existsSync(hostsFile)) throw new UsageError(`${opts.hosts} does not exist`);

  if (opts.types) {
    const nixpkgs = opts.nixpkgs === undefined ? undefined : resolve(opts.nixpkgs);
    const code = generate({ dir: dirname(hostsFile), flakeDir: out, nixpkgs }, io);
    if (code !== 0) return code;
  }
  // The NixOS option types and names `vmflake types` wrote beside the hosts file, if any.
  const generated = readGenerated(dirname(hostsFile));
  const stale = staleReason(generated, out);
  if (stale !== undefined) io.stderr(`warning: ${stale}\n`);

  if (opts.typecheck) {
    const diags = typecheckFile(hostsFile, generated.types === undefined ? [] : [generated.types]);
    if (diags.length > 0) {
      io.stderr(`${diags.join("\n")}\n\n${opts.hosts} has type errors; nothing was written.\n`);
      return 1;
    }
  }

  let spec: unknown;
  try {
    spec = ((await import(pathToFileURL(hostsFile).href)) as { default?: unknown }).default;
  } catch (e) {
    io.stderr(`could not load ${opts.hosts}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }

  const source = basename(hostsFile);
  let resolved;
  try {
    resolved = resolveSpec(
      spec,
      generated.names === undefined ? {} : { nixosOptions: generated.names.options },
    );
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    const n = e.problems.length;
    io.stderr(
      `${e.problems.map((p) => `${p.path}: ${p.message}`).join("\n")}\n\n` +
        `${source}: ${n} problem${n === 1 ? "" : "s"}; nothing was written.\n`,
    );
    return 1;
  }

  const wanted = await wantedFiles(resolved, source);
  const changes = planChanges(out, wanted);
  const changed = changes.filter((c) => c.kind !== "unchanged");
  const where = relative(process.cwd(), out) || ".";

  if (opts.check) {
    if (changed.length === 0) {
      io.stdout(`The flake in ${where} matches ${source}.\n`);
      return 0;
    }
    io.stderr(
      `The flake in ${where} does not match ${source}:\n${changeList(changed)}\nRun \`npx tsx build.ts\` to update it.\n`,
    );
    return 1;
  }
  if (opts.diff) {
    io.stdout(changed.map((c: Change) => unifiedDiff(c)).join(""));
    return changed.length === 0 ? 0 : 1;
  }
  applyChanges(out, changes);
  io.stdout(`${guestTable(resolved)}\n\nWrote the flake to ${where}:\n${changeList(changes)}\n`);
  return 0;
}
