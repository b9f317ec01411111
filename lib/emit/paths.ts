/** Where each generated file goes, relative to the output directory. */

export const FLAKE_PATH = "flake.nix";

export function hostModulePath(host: string): string {
  return `modules/${host}.nix`;
}

export function guestModulePath(host: string, guest: string): string {
  return `modules/${host}/${guest}.nix`;
}
