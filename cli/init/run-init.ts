/** `vmflake init [DIR]`: write a new repository for the user's hosts, or refuse and write nothing. */
import { lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { Io } from "../main.ts";
import { vmflakeSpec } from "./dependency-spec.ts";
import { SCAFFOLD, packageName, scaffoldFiles } from "./scaffold.ts";

export const INIT_USAGE = `Usage: npx vmflake init [DIR]

Starts a repository for your hosts in DIR (default: the current directory; created if
missing). It writes:
${SCAFFOLD.map((f) => `  ${f.path}\n`).join("")}If DIR already holds any of them, it names them and writes nothing (exit 1).
`;

/** This copy of vmflake: its directory, version, and the tsx it depends on. */
const PACKAGE_ROOT = join(import.meta.dirname, "..", "..");
const OWN = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as {
  readonly version: string;
  readonly dependencies: { readonly tsx: string };
};

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Run `vmflake init ARGV…` with DIR relative to `cwd`; resolves to the exit code. */
export function runInit(argv: readonly string[], io: Io, cwd: string): number {
  const dirs: string[] = [];
  for (const a of argv) {
    if (a === "-h" || a === "--help") {
      io.stdout(INIT_USAGE);
      return 0;
    }
    if (a.startsWith("-")) {
      io.stderr(`unknown option ${a}\n\n${INIT_USAGE}`);
      return 2;
    }
    dirs.push(a);
  }
  if (dirs.length > 1) {
    io.stderr(`init takes one directory, not ${dirs.length}\n\n${INIT_USAGE}`);
    return 2;
  }
  const target = resolve(cwd, dirs[0] ?? ".");
  const shown = relative(cwd, target) || ".";
  if (exists(target) && !statSync(target).isDirectory()) {
    io.stderr(`${shown} is not a directory; nothing was written.\n`);
    return 1;
  }

  const files = scaffoldFiles({
    name: packageName(basename(target)),
    vmflake: vmflakeSpec(PACKAGE_ROOT, OWN.version, target),
    tsx: OWN.dependencies.tsx,
  });
  const taken = [...files.keys()].filter((path) => exists(join(target, path)));
  if (taken.length > 0) {
    io.stderr(`${shown} already has ${taken.join(", ")}; nothing was written.\n`);
    return 1;
  }

  try {
    writeAll(target, files);
  } catch (e) {
    io.stderr(`error: ${e instanceof Error ? e.message : String(e)}; nothing was written.\n`);
    return 1;
  }
  const cd = shown === "." ? "" : `  cd ${shown}\n`;
  io.stdout(
    `Wrote a repository for your hosts to ${shown}:\n` +
      [...files.keys()].map((path) => `  ${path}\n`).join("") +
      `\nNext:\n${cd}  npm install\n  npx tsx build.ts\n` +
      `Then describe your machines in hosts.ts; README.md has the steps after that.\n`,
  );
  return 0;
}

/** Write every file, never over an existing one; on a failure, remove what this run created. */
function writeAll(target: string, files: ReadonlyMap<string, string>): void {
  const created: string[] = [];
  try {
    for (const [path, text] of files) {
      const file = join(target, path);
      const dir = mkdirSync(dirname(file), { recursive: true });
      if (dir !== undefined) created.push(dir);
      writeFileSync(file, text, { flag: "wx" });
      created.push(file);
    }
  } catch (e) {
    // Newest first: files, then the directories made for them (each the top one made).
    for (const path of created.reverse()) rmSync(path, { recursive: true, force: true });
    throw e;
  }
}
