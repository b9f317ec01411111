/**
 * Temporary directories for tests, all removed once the test file is done: {@link tempDir} for
 * files, {@link scratchDir} for guest images and sockets (never on tmpfs), {@link withTempDir}
 * for one call. They may be made while tests are collected or while one runs.
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

/**
 * Every directory made here and not removed yet, shared by all copies of this module in one
 * process (test files get their own copies), so one exit handler removes what a file whose tests
 * all were skipped (and so whose afterAll never ran) left behind.
 */
const made: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[
  Symbol.for("vmflake.test.tempDirs")
] ??= (() => {
  const dirs = new Set<string>();
  process.once("exit", () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return dirs;
})());

/** The directories this copy of the module (this test file) made. */
const mine: string[] = [];

afterAll(() => {
  for (const d of mine.splice(0)) remove(d);
});

function remove(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

function track(dir: string): string {
  made.add(dir);
  mine.push(dir);
  return dir;
}

/** A fresh directory under the system's temporary directory, removed after the file's tests. */
export function tempDir(prefix = "vmflake-test-"): string {
  return track(mkdtempSync(join(tmpdir(), prefix)));
}

/** Runs `fn` with a fresh directory, removed as soon as `fn` returns or throws. */
export function withTempDir<T>(fn: (dir: string) => T, prefix = "vmflake-test-"): T {
  const dir = tempDir(prefix);
  try {
    return fn(dir);
  } finally {
    remove(dir);
  }
}

const TMPFS_MAGIC = 0x01021994;
const repoTmp = fileURLToPath(new URL("../../.vmflake-tmp", import.meta.url));

/**
 * A fresh directory named `<prefix>XXXXXX` for guest images and sockets; the path stays short
 * for sockets. The guest disk uses `cache=none` (O_DIRECT), which tmpfs refuses, so when the
 * system temp dir is tmpfs the directory goes under the repository's git-ignored `.vmflake-tmp/`.
 * Removed after the file's tests, or earlier with {@link removeScratchDir}.
 */
export function scratchDir(prefix: string): string {
  let parent = tmpdir();
  if (statfsSync(parent).type === TMPFS_MAGIC) {
    parent = repoTmp;
    mkdirSync(parent, { recursive: true });
  }
  return track(mkdtempSync(join(parent, prefix)));
}

/** Removes a directory made by {@link scratchDir} (or {@link tempDir}) now. */
export function removeScratchDir(dir: string): void {
  remove(dir);
}
