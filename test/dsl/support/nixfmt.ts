/**
 * The real `nixfmt --strict`, on many files per process: each text goes to its own file in one
 * directory, nixfmt rewrites them all in place, and each is read back.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The nixfmt binary the property test uses, from `NIXFMT`; undefined when unset. */
export function nixfmtBinary(): string | undefined {
  const bin = process.env.NIXFMT;
  return bin === undefined || bin === "" ? undefined : bin;
}

function rejects(bin: string, file: string): string | undefined {
  try {
    execFileSync(bin, ["--strict", "--check", file], { stdio: "pipe" });
    return undefined;
  } catch (e) {
    return `ERROR: ${String((e as { stderr?: Buffer }).stderr ?? e)}`;
  }
}

/** nixfmt's output for each text (or, for a text it rejects, its message after `ERROR: `). */
export function nixfmtEach(bin: string, dir: string, texts: readonly string[]): string[] {
  const files = texts.map((t, i) => {
    const f = join(dir, `e${i}.nix`);
    writeFileSync(f, t);
    return f;
  });
  let failed = false;
  try {
    execFileSync(bin, ["--strict", "--quiet", ...files], { stdio: "pipe" });
  } catch {
    // Some file was rejected (the others are still rewritten): find which, one by one.
    failed = true;
  }
  return files.map((f) => {
    const out = readFileSync(f, "utf8");
    return (failed ? rejects(bin, f) : undefined) ?? out;
  });
}
