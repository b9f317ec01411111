/**
 * The first-install protocol between the host and vmflake's installer ISO, in one place: the
 * names both sides use for the seed drive, its file, the work directory, and the markers on the
 * serial console. docs/qemu-and-systemd.md §6.2–6.3 gives the reasons.
 *
 * The host's install unit (`lib/runtime/nixos/scripts/install-guest.sh`) prepares a private work directory next to
 * the guest's image, holding the image-in-progress, a link to the installer ISO and the seed
 * directory, which QEMU shows the installer as a read-only FAT drive (vvfat) with the virtio serial
 * {@link SEED_SERIAL}:
 *
 * ```
 * <stateDir>/<guest>/install.tmp/      mode 0700, the guest's user
 *   disk.qcow2                          the image-in-progress; linked into place on success
 *   uefi-vars.fd                        UEFI guests: the installer's NVRAM, then the guest's
 *   installer.iso -> /nix/store/…       the host's installer ISO
 *   seed/vmflake-install.conf           key=value lines, see SeedFields
 *   seed/flake/{flake.nix,flake.lock,modules/}   network installs only: the emitted flake's files
 * ```
 *
 * The installer (`scripts/installer.sh` in the ISO) acts only when that drive carries this host's opt-in
 * token, then prints exactly one of {@link INSTALL_OK} or {@link INSTALL_FAILED} with the
 * seed's nonce on its serial console (the host's install log) and powers off.
 */

/** virtio-blk serial of the seed drive; the installer finds it by this serial only. */
export const SEED_SERIAL = "vmflake-seed";

/** FAT volume label of the seed drive (at most 11 characters), for people looking at it. */
export const SEED_LABEL = "VMFLAKESEED";

/** The seed file, in the root of the seed drive. */
export const SEED_FILE = "vmflake-install.conf";

/** Directory on the seed drive that holds the flake for a network install. */
export const SEED_FLAKE_DIR = "flake";

/** Version of the seed file's format; the installer refuses any other. */
export const SEED_FORMAT = 1;

/** Names inside the work directory. */
export const WORK_IMAGE = "disk.qcow2";
export const WORK_ISO = "installer.iso";
export const WORK_SEED = "seed";

/** Success marker: the whole line is `INSTALL_OK <nonce>`. */
export const INSTALL_OK = "INSTALL_OK";
/** Failure marker: the whole line is `INSTALL_FAILED <nonce>: <reason>`. */
export const INSTALL_FAILED = "INSTALL_FAILED";

/** Where the installer ISO links the systems it carries for offline installs, by guest name. */
export const OFFLINE_SYSTEMS_DIR = "/etc/vmflake/offline";

/**
 * Memory the installer VM gets at least: `nixos-install --flake` evaluates NixOS (about 800 MB)
 * and the live system keeps the fetched nixpkgs source in its RAM-backed store.
 */
export const INSTALLER_MIN_MEMORY_MIB = 3072;

/**
 * The opt-in token of a host's installer: the seed drive must carry exactly this, or the installer
 * touches nothing. Only the generated host module writes it.
 */
export function installToken(host: string): string {
  return `vmflake-install-opt-in/${host}`;
}

/** What the host writes into {@link SEED_FILE}, one `key=value` line each, in this order. */
export interface SeedFields {
  format: number;
  host: string;
  guest: string;
  /** 32 lowercase hex digits, new for every install attempt. */
  nonce: string;
  token: string;
  /** The virtio serial of the disk to install to. */
  "disk-serial": string;
  /** Its exact size in bytes; any other size is refused. */
  "disk-bytes": bigint;
  /** UEFI guests only: partition GPT with an EFI system partition (BIOS: MBR). */
  firmware?: "uefi";
}

/** The seed file's text for `fields` (the host script writes the same lines). */
export function seedFileText(fields: SeedFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v)}\n`)
    .join("");
}
