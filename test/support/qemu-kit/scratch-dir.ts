/**
 * Fresh per-test directories for images and sockets. The guest disk uses `cache=none` (O_DIRECT),
 * which tmpfs refuses, so when the system temp dir is tmpfs the directory goes under the repo's
 * git-ignored `.vmflake-tmp/` instead.
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const TMPFS_MAGIC = 0x01021994;
const repoTmp = fileURLToPath(new URL("../../../.vmflake-tmp", import.meta.url));

/** Creates a new empty directory named `<prefix>XXXXXX`; the path stays short for sockets. */
export function scratchDir(prefix: string): string {
  let parent = tmpdir();
  if (statfsSync(parent).type === TMPFS_MAGIC) {
    parent = repoTmp;
    mkdirSync(parent, { recursive: true });
  }
  return mkdtempSync(join(parent, prefix));
}

/** Removes a directory made by {@link scratchDir}. */
export function removeScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
