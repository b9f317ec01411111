/** Where each generated file goes, relative to the output directory. */

export const FLAKE_PATH = "flake.nix";

export function hostModulePath(host: string): string {
  return `modules/${host}.nix`;
}

export function guestModulePath(host: string, guest: string): string {
  return `modules/${host}/${guest}.nix`;
}

/**
 * The installer module of a host. Never a guest's file: a guest named like a host is refused, so
 * `modules/installer/<host>.nix` is not a guest of a host called `installer`.
 */
export function installerModulePath(host: string): string {
  return `modules/installer/${host}.nix`;
}
