/**
 * The runtime: the NixOS modules and shell programs under `lib/runtime/nixos/`, copied verbatim
 * into every generated flake as `modules/vmflake/`. Their text never depends on `hosts.ts`; the
 * values each host sets are printed into `modules/<host>.nix` (see docs/design.md).
 */

/** Where the runtime's files are in this package (a `file:` URL, read by the command line). */
export const RUNTIME_SOURCE = new URL("./nixos/", import.meta.url);

/** Where they go in the generated flake, relative to its root. */
export const RUNTIME_OUTPUT_DIR = "modules/vmflake";

/** The first line of every runtime file: the build owns (and may replace) files that start with it. */
export const RUNTIME_MARK = "# vmflake runtime: ";

/** Every runtime file, relative to {@link RUNTIME_SOURCE}; a test keeps it equal to the folder. */
export const RUNTIME_FILES = [
  "confined.nix",
  "default.nix",
  "disks.nix",
  "firmware.nix",
  "guest-disks.nix",
  "installer.nix",
  "networks.nix",
  "passthrough.nix",
  "qemu.nix",
  "scripts/check-firmware.sh",
  "scripts/format-guard.sh",
  "scripts/install-guest.sh",
  "scripts/installer.sh",
  "scripts/prepare-disk.sh",
  "scripts/stop-guest.sh",
  "scripts/tap.sh",
  "scripts/vfio-bind.sh",
  "scripts/vms.sh",
  "shares.nix",
  "tpm.nix",
  "vms.nix",
] as const;
