/**
 * The corpus of bad hosts files: each `<case>.hosts.ts` must fail with exactly the messages in
 * `<case>.expected`, exit code 1, and leave the output directory untouched.
 */
import { cpSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { snapshotDir } from "../support/snapshot-dir.ts";
import { tempDir } from "../support/temp.ts";

const corpus = join(import.meta.dirname, "bad-hosts");
const cases = readdirSync(corpus)
  .filter((f) => f.endsWith(".hosts.ts"))
  .map((f) => f.slice(0, -".hosts.ts".length))
  .sort();

describe("bad hosts files", () => {
  const out = tempDir();
  let before: Record<string, string>;
  beforeAll(() => {
    // An output directory holding an earlier build and a file of the user's own.
    cpSync(join(REPO_ROOT, "flake.nix"), join(out, "flake.nix"));
    cpSync(join(REPO_ROOT, "modules"), join(out, "modules"), { recursive: true });
    writeFileSync(join(out, "modules", "my-own.nix"), "{ }\n");
    before = snapshotDir(out);
  });

  it("has at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const name of cases) {
    it(name, async () => {
      const r = await build([
        "--hosts",
        join(corpus, `${name}.hosts.ts`),
        "--out",
        out,
        "--no-typecheck",
      ]);
      expect(r.stderr).toBe(readFileSync(join(corpus, `${name}.expected`), "utf8"));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(snapshotDir(out)).toEqual(before);
    });
  }

  it("never echoes a private key", () => {
    const expected = readFileSync(join(corpus, "ssh-key-private.expected"), "utf8");
    expect(expected).toContain("PRIVATE key");
    expect(expected).not.toContain("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU");
  });
});
