/**
 * The files of a new repository, from the templates beside this file: real files, so vmflake's
 * own prettier and tsc check them as the user gets them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const TEMPLATES = join(import.meta.dirname, "templates");

/** Each file `vmflake init` writes: its path in the new repository, and its template. */
export const SCAFFOLD: readonly { readonly path: string; readonly template: string }[] = [
  { path: "package.json", template: "package-template.json" },
  { path: "tsconfig.json", template: "tsconfig.json" },
  { path: "hosts.ts", template: "hosts.ts" },
  { path: "build.ts", template: "build.ts" },
  // Named without the dot: a .gitignore here would be ignore rules for git and npm, and npm
  // leaves files of that name out of the package.
  { path: ".gitignore", template: "gitignore" },
  { path: ".github/workflows/check.yml", template: "check.yml" },
  { path: "README.md", template: "README.md" },
];

/** What varies between new repositories. */
export interface ScaffoldInput {
  /** The package name (see {@link packageName}). */
  readonly name: string;
  /** The dependency spec for vmflake. */
  readonly vmflake: string;
  /** The dependency spec for tsx. */
  readonly tsx: string;
}

/** A package name from a directory name: lowercase, URL-safe, never starting with `.` or `_`. */
export function packageName(dirName: string): string {
  const name = dirName
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, "-")
    .replace(/^[._-]+/, "")
    .slice(0, 214);
  return name === "" ? "hosts" : name;
}

/** The new repository's files by path, in the order of {@link SCAFFOLD}. */
export function scaffoldFiles(input: ScaffoldInput): Map<string, string> {
  const files = new Map<string, string>();
  for (const { path, template } of SCAFFOLD) {
    const text = readFileSync(join(TEMPLATES, template), "utf8");
    files.set(path, path === "package.json" ? packageJson(text, input) : text);
  }
  return files;
}

/** The template with the name and the two dependencies filled in, as npm itself writes it. */
function packageJson(template: string, input: ScaffoldInput): string {
  const manifest = JSON.parse(template) as Record<string, unknown>;
  manifest["name"] = input.name;
  manifest["devDependencies"] = { tsx: input.tsx, vmflake: input.vmflake };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
