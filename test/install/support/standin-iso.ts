/**
 * Stand-in installer ISOs: the machine's Debian kernel and a busybox initramfs, made bootable with
 * isolinux and xorriso, so that QEMU boots them from a CD exactly as it boots vmflake's real
 * NixOS installer ISO (`-boot once=d`). A real NixOS ISO cannot be built here (no full nixpkgs).
 * A test hands the ISO's path to the stand-in nixpkgs as its `bootableIso` argument
 * (support/install-flake.ts): its isoImage, which the flake's `installer-<host>` package is, then
 * links it as `iso/<image.baseName>.iso`, the file the host module's `vmflake.installer.iso`
 * names, so the install unit's ExecStart boots it like the real one.
 *
 * - `service`: runs the REAL install service of the emitted installer module
 *   (`systemd.services.vmflake-install` of modules/vmflake/installer.nix): the argument vector of
 *   its ExecStart, with the program built by Nix from `modules/installer/<host>.nix`, at the same
 *   store path. Debian's bash, util-linux (wipefs, blkid, sfdisk, mount, umount, dmesg) and
 *   e2fsprogs (mkfs.ext4) stand in for NixOS's; busybox provides the rest. Stand-ins named as
 *   such: `systemctl` (poweroff, start), `udevadm` (settle) and `nixos-install`, which records
 *   what it was asked to install inside the target (`/vmflake-stand-in/` on its root file system).
 *   If the service returns (it did nothing), the machine stays up like a real one, until killed.
 * - `silent`: powers off without any marker (an installer that crashed).
 * - `wrong-nonce`: reads the seed's nonce and prints `INSTALL_OK` with a different one.
 * - `hang`: never finishes.
 *
 * Everything is cached by content in the kit's cache directory (see content-hash.ts).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { kitCacheDir, sha256, storeByContent } from "../../support/qemu-kit/content-hash.ts";
import { kitKernel } from "../../support/qemu-kit/kernel.ts";
import {
  newcArchive,
  S_IFDIR,
  S_IFREG,
  type CpioEntry,
} from "../../support/qemu-kit/newc-archive.ts";

const S_IFLNK = 0o120000;

/** Tools the stand-in ISOs need on the test machine. */
export const standInIsoTools = [
  "xorriso",
  "busybox",
  "bash",
  "wipefs",
  "blkid",
  "sfdisk",
  "mkfs.ext4",
  "mount",
  "umount",
  "dmesg",
  "ldd",
  "modprobe",
] as const;

/** isolinux's files (Debian packages isolinux and syslinux-common). */
const ISOLINUX_BIN = "/usr/lib/ISOLINUX/isolinux.bin";
const LDLINUX = "/usr/lib/syslinux/modules/bios/ldlinux.c32";

/** True when the isolinux files are installed. */
export function hasIsolinux(): boolean {
  return existsSync(ISOLINUX_BIN) && existsSync(LDLINUX);
}

/** Console lines of the stand-in's /init. */
export const standInMarkers = {
  running: "VMFLAKE-STANDIN: running the install service",
  serviceExited: "VMFLAKE-STANDIN: the install service exited with status",
  silent: "VMFLAKE-STANDIN: powering off without a marker",
  hanging: "VMFLAKE-STANDIN: hanging",
} as const;

/** A file placed into the initramfs. */
export interface ExtraFile {
  /** Absolute path inside the guest. */
  path: string;
  /** Contents, or a symlink target. */
  data?: Uint8Array;
  symlink?: string;
  mode?: number;
}

export type StandInBehaviour =
  | {
      kind: "service";
      /** The unit's ExecStart as an argument vector (parseExecLine; the program is a store path). */
      execStart: readonly string[];
      /** Store paths to copy in whole (the service's script, offline systems …). */
      storePaths: readonly string[];
      /** More files: /etc entries of the installer's system. */
      files?: readonly ExtraFile[];
      /** nixos-install stand-in: record the install (default), or fail. */
      nixosInstall?: "record" | "fail";
    }
  | { kind: "silent" }
  | { kind: "wrong-nonce" }
  | { kind: "hang" };

/** Kernel modules, in the order their dependencies need (from the kernel's modules.dep). */
const MODULES = [
  "virtio_pci",
  "virtio_blk",
  "fat",
  "vfat",
  "nls_cp437",
  "nls_ascii",
  "nls_utf8",
  "crc32c_generic",
  "ext4",
];

/** Debian programs the service variant carries, with their libraries. */
const SERVICE_TOOLS = [
  "bash",
  "wipefs",
  "blkid",
  "sfdisk",
  "mkfs.ext4",
  "mount",
  "umount",
  "dmesg",
] as const;

const SYSTEMCTL_STANDIN = `#!/bin/sh
# Stand-in for systemctl in the stand-in installer ISO (there is no systemd here).
case $1 in
  poweroff) sync; exec busybox poweroff -f ;;
  start) exit 0 ;;
  *) echo "systemctl stand-in: $*: not supported" >&2; exit 1 ;;
esac
`;

const UDEVADM_STANDIN = `#!/bin/sh
# Stand-in for udevadm: no udev here; devtmpfs creates the device nodes by itself.
exit 0
`;

/** Records what it was asked to install in <root>/vmflake-stand-in/ (the test reads it back). */
const NIXOS_INSTALL_RECORD = `#!/bin/sh
# Stand-in for nixos-install: records its arguments and what it was given inside the target.
root=/mnt
system=
flake=
all="$*"
while [ "$#" -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --system) system=$2; shift 2 ;;
    --flake) flake=$2; shift 2 ;;
    *) shift ;;
  esac
done
mkdir -p "$root/vmflake-stand-in"
echo "$all" > "$root/vmflake-stand-in/args"
if [ -n "$system" ]; then cp -R "$system" "$root/vmflake-stand-in/system"; fi
if [ -n "$flake" ]; then
  dir=\${flake#path:}
  dir=\${dir%%#*}
  cp -R "$dir" "$root/vmflake-stand-in/flake"
fi
echo "nixos-install (stand-in): recorded the install in $root/vmflake-stand-in"
`;

const NIXOS_INSTALL_FAIL = `#!/bin/sh
echo "nixos-install (stand-in): error: cannot reach the binary cache" >&2
exit 1
`;

/** Builds (or reuses) the stand-in ISO for `behaviour`; returns its path. */
export function standInIso(behaviour: StandInBehaviour): string {
  const cache = kitCacheDir();
  const kernel = kitKernel(cache);
  const bzImage = join("/boot", `vmlinuz-${kernel.version}`);
  const modules = moduleLoadOrder(kernel.modulesDir, MODULES);
  const entries = new Map<string, CpioEntry>();
  const addDirs = (path: string): void => {
    const parts = path.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!entries.has(dir)) entries.set(dir, { path: dir, mode: S_IFDIR | 0o755 });
    }
  };
  const add = (file: ExtraFile): void => {
    const path = file.path.replace(/^\/+/, "");
    addDirs(path);
    if (file.symlink !== undefined) {
      entries.set(path, { path, mode: S_IFLNK | 0o777, data: Buffer.from(file.symlink) });
    } else {
      entries.set(path, {
        path,
        mode: S_IFREG | (file.mode ?? 0o644),
        data: file.data ?? new Uint8Array(),
      });
    }
  };
  for (const dir of ["bin", "dev", "proc", "sys", "tmp", "run", "mnt", "etc", "root"]) {
    entries.set(dir, { path: dir, mode: S_IFDIR | 0o755 });
  }
  add({ path: "/bin/busybox", data: readFileSync(which("busybox")), mode: 0o755 });
  for (const m of modules) {
    add({ path: `/lib/modules/${basename(m)}`, data: readFileSync(join(kernel.modulesDir, m)) });
  }
  const moduleNames = modules.map((m) => basename(m));
  let body: string;
  switch (behaviour.kind) {
    case "service": {
      for (const tool of SERVICE_TOOLS) addProgram(add, which(tool), `/usr/local/bin/${tool}`);
      add({ path: "/usr/local/bin/systemctl", data: Buffer.from(SYSTEMCTL_STANDIN), mode: 0o755 });
      add({ path: "/usr/local/bin/udevadm", data: Buffer.from(UDEVADM_STANDIN), mode: 0o755 });
      const install = behaviour.nixosInstall === "fail" ? NIXOS_INSTALL_FAIL : NIXOS_INSTALL_RECORD;
      add({ path: "/usr/local/bin/nixos-install", data: Buffer.from(install), mode: 0o755 });
      if (existsSync("/etc/mke2fs.conf")) {
        add({ path: "/etc/mke2fs.conf", data: readFileSync("/etc/mke2fs.conf") });
      }
      for (const p of behaviour.storePaths) addTree(add, p);
      for (const f of behaviour.files ?? []) add(f);
      body = `export PATH=/usr/local/bin:/bin HOME=/root
ln -sf /usr/local/bin/bash /bin/bash
echo "${standInMarkers.running}"
status=0
${behaviour.execStart.map(shellQuote).join(" ")} || status=$?
echo "${standInMarkers.serviceExited} $status"
# A real machine stays up when the service does nothing: so does this one, until it is stopped.
while :; do sleep 3600; done`;
      break;
    }
    case "silent":
      body = `echo "${standInMarkers.silent}"
poweroff -f`;
      break;
    case "wrong-nonce":
      body = `mkdir -p /seed
for d in /sys/block/*; do
  if [ "$(cat "$d/serial" 2>/dev/null)" = vmflake-seed ]; then mount -t vfat -o ro "/dev/\${d##*/}1" /seed; fi
done
nonce=$(sed -n 's/^nonce=//p' /seed/vmflake-install.conf)
other=$(echo "$nonce" | tr 0-9a-f 1-9a-f0)
printf '\\nINSTALL_OK %s\\n' "$other" > /dev/ttyS0
poweroff -f`;
      break;
    case "hang":
      body = `echo "${standInMarkers.hanging}"
while :; do sleep 3600; done`;
      break;
  }
  const init = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /dev /proc /sys /tmp /run /mnt
mount -t devtmpfs devtmpfs /dev
# As systemd provides them (bash's process substitution needs /dev/fd).
ln -s /proc/self/fd /dev/fd
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in ${moduleNames.join(" ")}; do insmod "/lib/modules/$m" 2>/dev/null || echo "insmod $m failed"; done
${body}
`;
  add({ path: "/init", data: Buffer.from(init), mode: 0o755 });
  const archive = newcArchive(sortEntries([...entries.values()]));
  const initrd = storeByContent(cache, `install-initrd-${behaviour.kind}`, ".cpio", archive);
  return isoFor(cache, bzImage, initrd);
}

/** Parents before children, so the kernel can create every file. */
function sortEntries(entries: CpioEntry[]): CpioEntry[] {
  return entries.sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path));
}

function depth(path: string): number {
  return path.split("/").length;
}

const ISOLINUX_CFG = `DEFAULT linux
PROMPT 0
TIMEOUT 1
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img console=ttyS0 panic=-1 quiet
`;

/** A bootable ISO of `bzImage` and `initrd`, cached by their content. */
function isoFor(cache: string, bzImage: string, initrd: string): string {
  const key = sha256(
    Buffer.concat([
      Buffer.from(sha256(readFileSync(bzImage))),
      Buffer.from(sha256(readFileSync(initrd))),
      Buffer.from(ISOLINUX_CFG),
    ]),
  );
  const target = join(cache, `install-standin-${key}.iso`);
  if (existsSync(target)) return target;
  const tmp = join(cache, `iso-build-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    mkdirSync(join(tmp, "root", "isolinux"), { recursive: true });
    writeFileSync(join(tmp, "root", "isolinux", "isolinux.bin"), readFileSync(ISOLINUX_BIN));
    writeFileSync(join(tmp, "root", "isolinux", "ldlinux.c32"), readFileSync(LDLINUX));
    writeFileSync(join(tmp, "root", "isolinux", "isolinux.cfg"), ISOLINUX_CFG);
    writeFileSync(join(tmp, "root", "vmlinuz"), readFileSync(bzImage));
    writeFileSync(join(tmp, "root", "initrd.img"), readFileSync(initrd));
    const out = join(tmp, "out.iso");
    execFileSync(
      "xorriso",
      [
        ...["-as", "mkisofs", "-quiet", "-o", out],
        ...["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat"],
        ...["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table"],
        ...["-V", "VMFLAKE_STANDIN", join(tmp, "root")],
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    renameSync(out, target); // atomic: parallel workers build identical content
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return target;
}

/** A program and the shared libraries ldd names for it, at the same paths inside the guest. */
function addProgram(add: (f: ExtraFile) => void, program: string, at: string): void {
  add({ path: at, data: readFileSync(program), mode: 0o755 });
  const out = execFileSync("ldd", [program], { encoding: "utf8" });
  for (const line of out.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m === null) continue;
    const lib = m[1]!;
    add({ path: lib, data: readFileSync(realpathSync(lib)), mode: 0o755 });
  }
}

/** A store path (file, directory or symlink) copied into the guest at the same path. */
function addTree(add: (f: ExtraFile) => void, path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  let lst;
  try {
    lst = readlinkSync(path);
  } catch {
    lst = undefined;
  }
  if (lst !== undefined) {
    add({ path, symlink: lst });
    return;
  }
  if (st === undefined) throw new Error(`standInIso: ${path} does not exist`);
  if (st.isDirectory()) {
    for (const entry of execFileSync("ls", ["-A", path], { encoding: "utf8" }).split("\n")) {
      if (entry !== "") addTree(add, join(path, entry));
    }
  } else {
    add({ path, data: readFileSync(path), mode: st.mode & 0o777 });
  }
}

/** Module files (relative to `modulesDir`) for `names` and their dependencies, dependencies first. */
function moduleLoadOrder(modulesDir: string, names: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(modulesDir, "modules.dep"), "utf8").split("\n")) {
    const [module, rest] = line.split(":");
    if (module && rest !== undefined) deps.set(module, rest.trim().split(/\s+/).filter(Boolean));
  }
  const order: string[] = [];
  const add = (module: string): void => {
    if (order.includes(module)) return;
    for (const dep of [...(deps.get(module) ?? [])].reverse()) add(dep);
    order.push(module);
  };
  for (const name of names) {
    const module = [...deps.keys()].find((m) => basename(m) === `${name}.ko`);
    if (module === undefined) throw new Error(`standInIso: module ${name}.ko not in ${modulesDir}`);
    add(module);
  }
  return order;
}

function which(tool: string): string {
  const path = execFileSync(
    "sh",
    ["-c", 'PATH="$PATH:/usr/sbin:/sbin" command -v "$1"', "sh", tool],
    {
      encoding: "utf8",
    },
  ).trim();
  if (path === "") throw new Error(`standInIso: ${tool} not found`);
  return realpathSync(path);
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
