/**
 * The option declarations of a NixOS system as `nixos-options.nix` writes them: each option's
 * type as a tree of constructors. The type generator and the option-name data read this.
 */

/** A rendered default or example: Nix text, or Markdown when nixpkgs gives prose. */
export interface RenderedValue {
  readonly text: string;
  readonly markdown: boolean;
}

interface TypeBase {
  /** nixpkgs' own words for the type (only for an option's own type, e.g. "integer between …"). */
  readonly description: string | null;
}

/** One option type, by the constructor that made it. */
export type OptionType =
  | (TypeBase & { readonly kind: "bool" | "int" | "float" | "path" | "package" | "nixos" })
  | (TypeBase & {
      readonly kind: "str";
      /** `lines`, `commas`, `envVar`: definitions are joined with it instead of conflicting. */
      readonly separator?: string | null;
    })
  | (TypeBase & { readonly kind: "enum"; readonly values: readonly (string | number | boolean)[] })
  | (TypeBase & { readonly kind: "nullOr" | "list"; readonly of: OptionType })
  | (TypeBase & { readonly kind: "union"; readonly of: readonly OptionType[] })
  | (TypeBase & {
      readonly kind: "attrs";
      readonly of: OptionType;
      /** What the manual calls an entry's name (`<name>`, `<user>` …). */
      readonly placeholder: string;
    })
  | (TypeBase & {
      readonly kind: "submodule";
      readonly options: OptionSet;
      /** A free-form submodule's type for any other attribute, or null. */
      readonly freeform: OptionType | null;
    })
  | (TypeBase & {
      readonly kind: "any";
      /** The nixpkgs type name that has no structural mapping (`anything`, `functionTo` …). */
      readonly name: string;
    });

/** A declared option. */
export interface OptionDecl {
  readonly kind: "option";
  readonly description: string | null;
  readonly default: RenderedValue | null;
  readonly example: RenderedValue | null;
  readonly type: OptionType;
}

/** An entry of an option set: an option, a nested set, or an option that is gone. */
export type OptionEntry =
  | OptionDecl
  | { readonly kind: "group"; readonly options: OptionSet }
  | { readonly kind: "renamed"; readonly to: string }
  | { readonly kind: "removed" };

/** Options and option sets by name. */
export interface OptionSet {
  readonly [name: string]: OptionEntry;
}

/** Where the options came from, recorded in the generated files (stale detection). */
export interface OptionSource {
  /** The NixOS release (`26.05`), when known. */
  readonly release: string | null;
  /** The nixpkgs content hash (flake.lock's `narHash`, or `nix hash path` of a checkout). */
  readonly narHash: string | null;
  /** How nixpkgs was chosen, for people: `flake.lock`, a path, the fixture. */
  readonly from: string;
}

/** A whole walk: every top-level entry. */
export interface OptionData {
  readonly source: OptionSource;
  readonly options: OptionSet;
}
