/**
 * vmflake: describe NixOS hosts and their QEMU/KVM guests in TypeScript; get a plain Nix flake.
 *
 * ```ts
 * import { defineHosts } from "vmflake";
 * export default defineHosts({ hosts: { … } });
 * ```
 *
 * Nix expressions for a guest's `config` come from `vmflake/dsl`
 * (`import * as nix from "vmflake/dsl"`); a repository's build.ts calls `vmflake/build`.
 */
export type {
  GuestSpec,
  HostSpec,
  HostsSpec,
  LanSpec,
  Size,
  StateVersion,
  StaticIPv4,
  UsbDeviceSpec,
} from "./spec.ts";
export { defineHosts } from "./spec.ts";
export {
  type GuestConfig,
  type OptionNames,
  mkAfter,
  mkBefore,
  mkDefault,
  mkForce,
  mkIf,
  mkMerge,
  mkOverride,
} from "./nixos-config.ts";
export type { ResolvedGuest, ResolvedHost, ResolvedSpec } from "./model.ts";
export { type ResolveOptions, resolveSpec } from "./resolve/index.ts";
export { type Problem, SpecError } from "./problems.ts";
export { type CopiedFile, emitFlake, type OutputFile, runtimeFiles } from "./emit/index.ts";
