/**
 * The guest kernel of the test kit: the host's installed Debian kernel (package linux-image-amd64)
 * and its modules. Its bzImage is xz-compressed, and decompressing it under TCG takes about 3 s
 * of every boot, so the kit extracts the plain ELF `vmlinux` once (cached by the bzImage's
 * content) and QEMU boots that through the kernel's PVH entry point (CONFIG_PVH=y in Debian).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "./content-hash.ts";

/** A kernel image QEMU can boot with `-kernel`, and where its modules live. */
export interface KitKernel {
  version: string;
  /** The image to pass to `-kernel`: the extracted vmlinux, or the bzImage when not extractable. */
  image: string;
  /** `/lib/modules/<version>` (holds modules.dep). */
  modulesDir: string;
}

const xzMagic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** The newest kernel in /boot that has its modules installed, made fast to boot (cached). */
export function kitKernel(cacheDir: string): KitKernel {
  const versions = readdirSync("/boot")
    .filter((f) => f.startsWith("vmlinuz-"))
    .map((f) => f.slice("vmlinuz-".length))
    .filter((v) => existsSync(join("/lib/modules", v, "modules.dep")))
    .sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
  const version = versions[0];
  if (version === undefined) {
    throw new Error("qemu-kit: no /boot/vmlinuz-* with /lib/modules/<version>/modules.dep");
  }
  const bzImage = join("/boot", `vmlinuz-${version}`);
  return {
    version,
    image: extractVmlinux(bzImage, cacheDir),
    modulesDir: join("/lib/modules", version),
  };
}

/** The uncompressed ELF inside an xz bzImage, or the bzImage itself for other compressions. */
function extractVmlinux(bzImage: string, cacheDir: string): string {
  const bytes = readFileSync(bzImage);
  const start = bytes.indexOf(xzMagic);
  if (start < 0) return bzImage; // boots anyway, only slower
  const target = join(cacheDir, `vmlinux-${sha256(bytes)}`);
  if (existsSync(target)) return target;
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fd = openSync(tmp, "w");
  try {
    // --single-stream: stop at the end of the kernel; the bzImage has trailing data after it.
    const xz = spawnSync("xz", ["-dc", "--single-stream"], {
      input: bytes.subarray(start),
      stdio: ["pipe", fd, "pipe"],
    });
    if (xz.status !== 0) throw new Error(`qemu-kit: xz failed on ${bzImage}: ${xz.stderr}`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target); // atomic: parallel test workers write identical content
  return target;
}
