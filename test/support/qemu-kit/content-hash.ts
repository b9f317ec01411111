/** Content keys for the kit's cache: same bytes, same file name. */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Short hex SHA-256 of `data` (64 bits are plenty to tell cache entries apart). */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 16);
}

/** The kit's cache directory (VMFLAKE_QEMU_KIT_CACHE, else /tmp/vmflake-qemu-kit), created. */
export function kitCacheDir(): string {
  const dir = process.env.VMFLAKE_QEMU_KIT_CACHE ?? join(tmpdir(), "vmflake-qemu-kit");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Path of `data` stored in `dir` as `<stem>-<hash><ext>`, written atomically if absent, so
 * parallel test workers can race without ever reading half a file.
 */
export function storeByContent(dir: string, stem: string, ext: string, data: Uint8Array): string {
  const target = join(dir, `${stem}-${sha256(data)}${ext}`);
  if (!existsSync(target)) {
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  }
  return target;
}
