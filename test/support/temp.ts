/**
 * Temporary directories for tests, all removed once the test file is done: {@link tempDir} for
 * files, {@link scratchDir} for guest images and sockets (never on tmpfs), {@link withTempDir}
 * for one call. They may be made while tests are collected or while one runs. Each name carries
 * the pid of the process that made it (`<prefix>t<pid>-XXXXXX`): what a process could not remove
 * (a file whose tests were all skipped runs no afterAll, a killed worker no exit handler) is
 * removed by the next test process once that pid is gone.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

const TMPFS_MAGIC = 0x01021994;
const repoTmp = fileURLToPath(new URL("../../.vmflake-tmp", import.meta.url));

/** `<prefix>t<pid>-` and mkdtemp's six characters: the names made here. */
const OURS = /^vmflake-.*-t(\d+)-[A-Za-z0-9]{6}$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the directories made here by test processes that have ended. */
function removeOrphans(): void {
  for (const parent of [tmpdir(), repoTmp]) {
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      const m = OURS.exec(name);
      if (m === null || alive(Number(m[1]))) continue;
      try {
        rmSync(join(parent, name), { recursive: true, force: true });
      } catch {
        // Another test process is removing it too.
      }
    }
  }
}

/**
 * Every directory made here and not removed yet, shared by all copies of this module in one
 * process (test files get their own copies): one exit handler per process removes what is left.
 * The first copy in a process removes the orphans of ended ones.
 */
const made: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[
  Symbol.for("vmflake.test.tempDirs")
] ??= (() => {
  removeOrphans();
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

/** mkdtemp under `parent`, the name marked with this process's pid. */
function make(parent: string, prefix: string): string {
  return track(mkdtempSync(join(parent, `${prefix}t${process.pid}-`)));
}

function track(dir: string): string {
  made.add(dir);
  mine.push(dir);
  return dir;
}

/** A fresh directory under the system's temporary directory, removed after the file's tests. */
export function tempDir(prefix = "vmflake-test-"): string {
  return make(tmpdir(), prefix);
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

/**
 * A fresh directory named `<prefix>t<pid>-XXXXXX` for guest images and sockets; the path stays
 * short for sockets. The guest disk uses `cache=none` (O_DIRECT), which tmpfs refuses, so when the
 * system temp dir is tmpfs the directory goes under the repository's git-ignored `.vmflake-tmp/`.
 * Removed after the file's tests, or earlier with {@link removeScratchDir}.
 */
export function scratchDir(prefix: string): string {
  let parent = tmpdir();
  if (statfsSync(parent).type === TMPFS_MAGIC) {
    parent = repoTmp;
    mkdirSync(parent, { recursive: true });
  }
  return make(parent, prefix);
}

/** Removes a directory made by {@link scratchDir} (or {@link tempDir}) now. */
export function removeScratchDir(dir: string): void {
  remove(dir);
}
