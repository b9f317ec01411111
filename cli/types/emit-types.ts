/**
 * The declaration file typing a guest's `config`: one interface per option set (a namespace
 * such as `services.openssh`, a submodule, the entries of `users.users.<name>`), each option a
 * property with nixpkgs' description, default and example as TSDoc. Built as ts-morph
 * structures and printed once. Computed values (`vmflake/dsl` expressions) are allowed at every
 * option, but a submodule's value is typed as itself alone: in a union with a computed value the
 * compiler no longer says "did you mean" for a misspelt field (the typed `mkIf`, `mkForce` … of
 * `vmflake` keep the submodule's type when wrapping one).
 */
import {
  IndentationText,
  type InterfaceDeclarationStructure,
  type JSDocStructure,
  ModuleDeclarationKind,
  Project,
  type PropertySignatureStructure,
  StructureKind,
} from "ts-morph";
import type { OptionData, OptionDecl, OptionEntry, OptionSet, OptionType } from "./option-data.ts";

/** The generated text and what it holds. */
export interface GeneratedTypes {
  readonly text: string;
  readonly interfaces: number;
  readonly options: number;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property name as TypeScript writes it. */
function propertyName(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/** `services.nginx.virtualHosts.<name>` → `ServicesNginxVirtualHostsEntry`. */
function pascal(path: readonly string[]): string {
  const words = path.map((p) =>
    /^<.*>$/.test(p)
      ? "Entry"
      : p
          .split(/[^A-Za-z0-9]+/)
          .filter((w) => w !== "")
          .map((w) => w[0]!.toUpperCase() + w.slice(1))
          .join(""),
  );
  const name = words.join("");
  return /^[A-Za-z_]/.test(name) ? name : `O${name}`;
}

/** Text for a TSDoc comment: no comment terminator, nixpkgs' Markdown roles as code. */
function docText(s: string): string {
  return s
    .replace(/\{(option|command|file|var|env|manpage|ref|option-type)\}`([^`]*)`/g, "`$2`")
    .replaceAll("*/", "*\\/")
    .replace(/\r\n?/g, "\n")
    .trim();
}

function codeBlock(text: string, markdown: boolean): string {
  const t = docText(text);
  if (markdown) return t;
  return t.includes("\n") ? `\n\`\`\`nix\n${t}\n\`\`\`` : `\`${t.replaceAll("`", "'")}\``;
}

function optionDocs(o: OptionDecl): JSDocStructure {
  const parts: string[] = [];
  if (o.description !== null && o.description.trim() !== "") parts.push(docText(o.description));
  const type = o.type.description;
  if (type !== null) parts.push(`Type: ${docText(type)}.`);
  if (o.type.kind === "str" && o.type.separator != null) {
    parts.push(
      `Definitions from several modules are joined with ${JSON.stringify(o.type.separator)}.`,
    );
  }
  const tags: { tagName: string; text: string }[] = [];
  if (o.default !== null) {
    tags.push({ tagName: "defaultValue", text: codeBlock(o.default.text, o.default.markdown) });
  }
  if (o.example !== null) {
    const ex = codeBlock(o.example.text, o.example.markdown);
    tags.push({ tagName: "example", text: ex.startsWith("\n") ? ex : `\n${ex}` });
  }
  return { kind: StructureKind.JSDoc, description: parts.join("\n\n"), tags };
}

/** Builds the interfaces of one walk. */
class Emitter {
  readonly interfaces: InterfaceDeclarationStructure[] = [];
  options = 0;
  private readonly used = new Set<string>([
    "Options",
    "Callable",
    "Computed",
    "Value",
    "Renamed",
    "Removed",
  ]);

  private uniqueName(path: readonly string[]): string {
    const base = pascal(path);
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}${i}`;
    this.used.add(name);
    return name;
  }

  /** An interface for `set` at `path`; its name. */
  interfaceFor(path: readonly string[], set: OptionSet, name = this.uniqueName(path)): string {
    const declaration: InterfaceDeclarationStructure = {
      kind: StructureKind.Interface,
      name,
      docs: path.length === 0 ? [] : [`\`${path.join(".")}\``],
      properties: [],
    };
    // Reserve the slot first, so interfaces come out in the order of the option tree.
    this.interfaces.push(declaration);
    const properties: PropertySignatureStructure[] = [];
    for (const [key, entry] of Object.entries(set)) {
      properties.push(this.property([...path, key], key, entry));
    }
    (declaration as { properties: PropertySignatureStructure[] }).properties = properties;
    return name;
  }

  private property(
    path: readonly string[],
    key: string,
    entry: OptionEntry,
  ): PropertySignatureStructure {
    const base = {
      kind: StructureKind.PropertySignature as const,
      name: propertyName(key),
      isReadonly: true,
      hasQuestionToken: true,
    };
    switch (entry.kind) {
      case "group":
        return { ...base, type: this.interfaceFor(path, entry.options) };
      case "renamed":
        return {
          ...base,
          type: `Renamed<${JSON.stringify(entry.to)}>`,
          docs: [`@deprecated Renamed to \`${entry.to}\`.`],
        };
      case "removed":
        return { ...base, type: "Removed", docs: ["@deprecated Removed from NixOS."] };
      case "option":
        this.options++;
        return { ...base, type: this.type(path, entry.type), docs: [optionDocs(entry)] };
    }
  }

  /** The TypeScript type of a value of `t` at option path `path`. */
  type(path: readonly string[], t: OptionType): string {
    return this.members(path, t).join(" | ");
  }

  /** The members of that type's union, without repeats. */
  private members(path: readonly string[], t: OptionType): string[] {
    switch (t.kind) {
      case "bool":
        return ["boolean", "Computed"];
      case "int":
        return ["number", "bigint", "Computed"];
      case "float":
        return ["number", "Computed"];
      case "str":
      case "path":
        return ["string", "Computed"];
      case "package":
        return ["Computed"];
      case "nixos":
        return ["Options"];
      case "any":
        return ["Value"];
      case "enum":
        return [...new Set(t.values.map((v) => JSON.stringify(v))), "Computed"];
      case "nullOr":
        return [...new Set([...this.members(path, t.of), "null"])];
      case "union":
        return [...new Set(t.of.flatMap((m) => this.members(path, m)))];
      case "list":
        return [`readonly (${this.type([...path, "*"], t.of)})[]`, "Computed"];
      case "attrs": {
        const entry = this.type([...path, `<${t.placeholder}>`], t.of);
        return [`{ readonly [${safeKey(t.placeholder)}: string]: ${entry} }`, "Computed"];
      }
      case "submodule": {
        const name = this.interfaceFor(path, t.options);
        // A free-form submodule takes other names too, with any value (an index signature in
        // the interface would have to fit every declared option's type as well).
        return [t.freeform === null ? name : `${name} & { readonly [name: string]: Value }`];
      }
    }
  }
}

/** An index signature's key name (any identifier; a placeholder such as `name`). */
function safeKey(placeholder: string): string {
  return IDENTIFIER.test(placeholder) ? placeholder : "name";
}

/** The header every generated file starts with (it names its source, for stale detection). */
export function typesHeader(data: OptionData): string {
  const from = [
    data.source.release === null ? null : `NixOS ${data.source.release}`,
    data.source.narHash === null ? null : `nixpkgs ${data.source.narHash}`,
    data.source.from,
  ].filter((x) => x !== null);
  return [
    `// Generated by \`npx vmflake types\` from ${from.join(", ")}. Do not edit:`,
    "// run it again after a nixpkgs update (the build says when this file is stale).",
    "// It types a guest's `config` in the hosts file by the NixOS options of that nixpkgs.",
  ].join("\n");
}

/** The declaration file for `data` (deterministic: the same data gives the same text). */
export function generateTypes(data: OptionData): GeneratedTypes {
  const e = new Emitter();
  e.interfaceFor([], data.options, "Options");
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces },
  });
  const file = project.createSourceFile("nixos-options.d.ts", "", { overwrite: true });
  file.addStatements(typesHeader(data));
  file.addExportDeclaration({});
  file.addModule({
    name: "global",
    declarationKind: ModuleDeclarationKind.Global,
    hasDeclareKeyword: true,
    statements: [
      {
        kind: StructureKind.Module,
        name: "NixOS",
        declarationKind: ModuleDeclarationKind.Namespace,
        statements: e.interfaces,
      },
    ],
  });
  return { text: file.getFullText(), interfaces: e.interfaces.length, options: e.options };
}
