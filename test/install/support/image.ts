/**
 * Looking into a guest image from the host without mounting anything: qemu-img converts it to raw,
 * sfdisk reads its partition table, blkid its file system, debugfs reads files from the ext4.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function run(cmd: string, args: readonly string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function must(cmd: string, args: readonly string[]): string {
  const r = run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.out}`);
  return r.out;
}

/** `qemu-img compare`: true when both images show the guest the same bytes. */
export function sameContent(a: string, b: string): boolean {
  return run("qemu-img", ["compare", "-q", "-f", "qcow2", "-F", "qcow2", a, b]).code === 0;
}

/** `qemu-img check -f qcow2`: exit code and output. */
export function qemuImgCheck(image: string): { code: number | null; out: string } {
  return run("qemu-img", ["check", "-f", "qcow2", image]);
}

/** SHA-256 of what the guest sees on the disk (its raw content), whatever the qcow2 layout. */
export function guestVisibleHash(image: string, format = "qcow2"): string {
  return withRaw(image, format, (raw) => must("sha256sum", [raw]).split(" ")[0]!);
}

export interface InstalledImage {
  /** sfdisk's view of the partition table. */
  table: {
    label: string;
    partitions: { start: number; size: number; type: string; bootable?: boolean }[];
  };
  /** blkid's view of partition 1. */
  filesystem: Record<string, string>;
  /** Reads a file from partition 1's ext4 (undefined when it is missing). */
  read(path: string): string | undefined;
  /** Lists a directory of partition 1's ext4. */
  list(path: string): string[];
}

/** Opens the installed image (converted to raw in a temporary directory) for `fn`. */
export function inspectImage<T>(image: string, fn: (img: InstalledImage) => T): T {
  return withRaw(image, "qcow2", (raw) => {
    const table = (
      JSON.parse(must("sfdisk", ["-J", raw])) as { partitiontable: InstalledImage["table"] }
    ).partitiontable;
    const first = table.partitions[0];
    if (first === undefined) throw new Error(`${image} has no partition`);
    const part = `${raw}.part1`;
    must("dd", [
      `if=${raw}`,
      `of=${part}`,
      "bs=512",
      `skip=${first.start}`,
      `count=${first.size}`,
      "status=none",
    ]);
    const filesystem = Object.fromEntries(
      must("blkid", ["-p", "-o", "export", part])
        .trim()
        .split("\n")
        .map((l) => l.split("=", 2) as [string, string]),
    );
    const debugfs = (request: string): { code: number | null; out: string } => {
      const r = spawnSync("debugfs", ["-R", request, part], { encoding: "utf8" });
      return { code: r.status, out: r.stdout };
    };
    return fn({
      table,
      filesystem,
      read(path) {
        const stat = spawnSync("debugfs", ["-R", `stat ${path}`, part], { encoding: "utf8" });
        if (/File not found/.test(stat.stderr) || stat.stdout === "") return undefined;
        return debugfs(`cat ${path}`).out;
      },
      list(path) {
        return debugfs(`ls -p ${path}`)
          .out.split("\n")
          .map((l) => l.split("/")[5])
          .filter((n): n is string => n !== undefined && n !== "" && n !== "." && n !== "..")
          .sort();
      },
    });
  });
}

function withRaw<T>(image: string, format: string, fn: (raw: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "vmflake-img-"));
  try {
    const raw = join(dir, "disk.raw");
    must("qemu-img", ["convert", "-f", format, "-O", "raw", image, raw]);
    return fn(raw);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
