/**
 * A guest's `config`, typed by the NixOS options of the nixpkgs in use. `npx vmflake types`
 * writes `.vmflake/nixos-options.d.ts`, which fills {@link NixOS.Options} by declaration
 * merging; without it `config` takes any attribute set of Nix values, as before.
 *
 * Plain values and `vmflake/dsl` expressions are allowed at every option. Where an option holds
 * an attribute set (a submodule such as `services.openssh`, or a set of named entries such as
 * `users.users`), give the set itself, or wrap it in one of the typed helpers below
 * (`mkIf(cond, { … })`), so the type check still sees the fields inside.
 */
import { type NixExpr, type NixValue, lib } from "../dsl/index.ts";

declare global {
  /** The types `npx vmflake types` generates from the NixOS option declarations. */
  namespace NixOS {
    /**
     * The NixOS options, by name. Empty until `npx vmflake types` generates
     * `.vmflake/nixos-options.d.ts`; a guest's `config` is then typed by it.
     */
    // Filled by the generated declarations (declaration merging); empty on purpose.
    interface Options {}
    /** A `vmflake/dsl` reference or application (`pkgs.hello`, `lib.mkForce(…)`). */
    interface Callable {
      (...args: never[]): NixExpr;
    }
    /** A computed value: any `vmflake/dsl` expression, accepted wherever a value is. */
    type Computed = NixExpr | Callable;
    /** Any Nix value (an option whose type has no closer description). */
    type Value = NixValue;
    /** An option nixpkgs renamed: setting it is a type error naming the new option. */
    interface Renamed<To extends string> {
      readonly "this option was renamed to": To;
    }
    /** An option nixpkgs removed: setting it is a type error. */
    interface Removed {
      readonly "this option was removed from NixOS": true;
    }
  }
}

/** True when `.vmflake/nixos-options.d.ts` is part of the program. */
type Generated = keyof NixOS.Options extends never ? false : true;

/**
 * A guest's own NixOS settings: typed by the generated option types when they are present,
 * else any attribute set of Nix values.
 */
export type GuestConfig = Generated extends true
  ? NixOS.Options
  : { readonly [option: string]: NixValue };

// The typed helpers below build the same expression as `lib.mkIf(…)` and so on; their type
// is the value's own, so the fields of a wrapped attribute set stay checked. The cast is the
// one place the type differs from the runtime value (an expression), which the build prints.
const typed = <T>(e: NixExpr): T => e as unknown as T;

/** `lib.mkIf cond value`: the definition applies only when `cond` holds. */
export function mkIf<T>(cond: NixValue, value: T): T {
  return typed<T>(lib.mkIf(cond, value as NixValue));
}

/** `lib.mkForce value`: this definition wins over every other. */
export function mkForce<T>(value: T): T {
  return typed<T>(lib.mkForce(value as NixValue));
}

/** `lib.mkDefault value`: a default that any plain definition overrides. */
export function mkDefault<T>(value: T): T {
  return typed<T>(lib.mkDefault(value as NixValue));
}

/** `lib.mkOverride priority value` (a lower number wins; plain definitions are 100). */
export function mkOverride<T>(priority: number, value: T): T {
  return typed<T>(lib.mkOverride(priority, value as NixValue));
}

/** `lib.mkMerge [ … ]`: several definitions of one option, merged. */
export function mkMerge<T>(values: readonly T[]): T {
  return typed<T>(lib.mkMerge(values as readonly NixValue[]));
}

/** `lib.mkBefore value`: a list or lines put before the other definitions. */
export function mkBefore<T>(value: T): T {
  return typed<T>(lib.mkBefore(value as NixValue));
}

/** `lib.mkAfter value`: a list or lines put after the other definitions. */
export function mkAfter<T>(value: T): T {
  return typed<T>(lib.mkAfter(value as NixValue));
}

/**
 * The option names of the nixpkgs in use, as `vmflake types` writes them to
 * `.vmflake/nixos-options.json`, for the build's own did-you-mean (it works with
 * `--no-typecheck`). A name maps to:
 * - `1`: an option (what is below it is its value),
 * - a nested {@link OptionNames}: a set of options (`"<name>"` in it: any entry name, whose
 *   options follow; `"*"`: any other name is allowed too, a free-form set),
 * - `"=new.name"`: an option renamed to `new.name`; `"!"`: a removed option.
 */
export interface OptionNames {
  readonly [name: string]: OptionNames | 1 | string;
}
