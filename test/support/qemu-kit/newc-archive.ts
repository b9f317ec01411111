/**
 * A minimal writer for the "newc" cpio format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Written here rather than piped
 * through cpio(1) so the archive is byte-for-byte reproducible (owner root, mtime 0) and can be
 * cached by its content.
 */

/** One archive member; `path` is relative ("bin/busybox"), `mode` includes the file type bits. */
export interface CpioEntry {
  path: string;
  mode: number;
  data?: Uint8Array;
}

/** File type bits of `mode`. */
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

/** The archive holding `entries` in order, followed by the TRAILER!!! record. */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    offset += b.length;
  };
  const pad = (): void => push(Buffer.alloc((4 - (offset % 4)) % 4));

  const all = [...entries, { path: "TRAILER!!!", mode: 0 }];
  all.forEach((entry, index) => {
    const data = entry.data ?? new Uint8Array();
    const name = Buffer.from(`${entry.path}\0`);
    const isDir = (entry.mode & 0o170000) === S_IFDIR;
    const fields = [
      index + 1, // ino: unique per member, so the kernel never sees hard links
      entry.mode,
      0, // uid
      0, // gid
      isDir ? 2 : 1, // nlink
      0, // mtime
      data.length,
      0, // devmajor
      0, // devminor
      0, // rdevmajor
      0, // rdevminor
      name.length,
      0, // check (unused by newc)
    ];
    push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, "0")).join("")}`));
    push(name);
    pad();
    push(Buffer.from(data));
    pad();
  });
  return Buffer.concat(parts);
}
