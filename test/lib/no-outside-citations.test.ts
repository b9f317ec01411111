/**
 * The repository explains itself: its design and reasons live in docs/, which cites public URLs.
 * No file under the scanned folders may cite a document outside the repository (the patterns
 * below: the workspace's shared folder and its reference notes, its design file, or a tracker
 * issue by number; a test's header says what it tests instead). Cite `docs/design.md §N` or
 * `docs/qemu-and-systemd.md §N`, or say what is meant.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/build-cli.ts";

/** Folders and files scanned, relative to the repository. */
const SCANNED = ["dsl", "lib", "cli", "test", "bench", "docs", "README.md"];

const CITATIONS: readonly { what: string; pattern: RegExp }[] = [
  { what: "the shared folder beside the repository", pattern: /\.\.\/shared\b/ },
  { what: "the shared reference notes", pattern: /shared\/reference/ },
  { what: "a reference note", pattern: /\breference\/[\w.-]+\.md\b/ },
  { what: "the workspace's design file", pattern: /DESIGN\.md/ },
  { what: "issue <number>", pattern: /\bissue\s+#?\d+/i },
];

const SELF = "test/lib/no-outside-citations.test.ts";

interface Hit {
  readonly file: string;
  readonly line: number;
  readonly what: string;
  readonly text: string;
}

/** Repository-relative paths with `/`, whatever the platform. */
function rel(path: string): string {
  return relative(REPO_ROOT, path).split(sep).join("/");
}

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const e of readdirSync(path).sort()) {
    if (e === "node_modules" || e.startsWith(".")) continue;
    out.push(...files(join(path, e)));
  }
  return out;
}

function citations(file: string): Hit[] {
  const text = readFileSync(join(REPO_ROOT, file), "utf8");
  if (text.includes("\0")) return [];
  const hits: Hit[] = [];
  text.split("\n").forEach((line, i) => {
    for (const { what, pattern } of CITATIONS) {
      if (pattern.test(line)) hits.push({ file, line: i + 1, what, text: line.trim() });
    }
  });
  return hits;
}

function show(hits: readonly Hit[]): string[] {
  return hits.map((h) => `${h.file}:${h.line}: cites ${h.what}: ${h.text}`);
}

describe("no citations of documents outside the repository", () => {
  const scanned = SCANNED.map((p) => join(REPO_ROOT, p))
    .flatMap((p) => files(p))
    .map(rel)
    .filter((f) => f !== SELF && !f.endsWith(".log"));
  const hits = scanned.flatMap(citations);

  it("scans the repository's sources", () => {
    expect(scanned).toContain("dsl/lexical.ts");
    expect(scanned).toContain("docs/design.md");
  });

  it("no file cites one", () => {
    expect(show(hits)).toEqual([]);
  });

  it("recognises each kind of citation", () => {
    const cites = (line: string) =>
      CITATIONS.filter((c) => c.pattern.test(line)).map((c) => c.what);
    const [up, shared, design] = ["..", "shared", ["DESIGN", "md"].join(".")];
    expect(cites(`see ${up}/${shared}/${design}`)).toEqual([
      "the shared folder beside the repository",
      "the workspace's design file",
    ]);
    expect(cites("`reference/qemu-on-nixos.md` §2.3")).toEqual(["a reference note"]);
    expect(cites(`${shared}/reference/x.md §a`)).toEqual([
      "the shared reference notes",
      "a reference note",
    ]);
    expect(cites(` * ${"Issue"} 6: the install fields`)).toEqual(["issue <number>"]);
    expect(cites("(issue #12)")).toEqual(["issue <number>"]);
    expect(cites("see docs/design.md §3.2")).toEqual([]);
    expect(cites("https://github.com/systemd/systemd/issues/13284")).toEqual([]);
  });
});
