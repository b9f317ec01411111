/**
 * File-map snapshot of the example (hosts.ts), built as `build.ts` builds it, into a temporary
 * directory: every file by path. Layout changes show up here as a reviewable diff; what the files
 * MEAN is asserted by the evaluation tests. The runtime's files (modules/vmflake/) are in the map
 * by path only, each checked here to be its lib/runtime/nixos/ file byte for byte: their text is
 * the runtime itself, reviewed where it is written.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";
import { RUNTIME_FILES, RUNTIME_OUTPUT_DIR } from "../../lib/runtime/files.ts";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { tempDir } from "../support/temp.ts";

/** Every file under `dir` with its text, by path relative to `dir`, sorted. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const f = join(d, e);
      if (statSync(f).isDirectory()) walk(f);
      else out[relative(dir, f)] = readFileSync(f, "utf8");
    }
  };
  walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

it("the example flake, file by file", async () => {
  const out = join(tempDir("vmflake-example-"), "flake");
  const r = await build(["--hosts", join(REPO_ROOT, "hosts.ts"), "--out", out, "--no-typecheck"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const built = files(out);
  const runtime = RUNTIME_FILES.map((f) => `${RUNTIME_OUTPUT_DIR}/${f}`);
  expect(Object.keys(built)).toEqual(
    expect.arrayContaining([
      "flake.nix",
      "modules/installer/study.nix",
      "modules/study.nix",
      "modules/study/alice.nix",
      "modules/study/bob.nix",
      ...runtime,
    ]),
  );
  const map: Record<string, string> = {};
  for (const [path, text] of Object.entries(built)) {
    const f = path.startsWith(`${RUNTIME_OUTPUT_DIR}/`)
      ? path.slice(RUNTIME_OUTPUT_DIR.length + 1)
      : undefined;
    if (f === undefined) {
      map[path] = text;
    } else {
      expect(text, path).toBe(readFileSync(join(REPO_ROOT, "lib", "runtime", "nixos", f), "utf8"));
      map[path] = `(lib/runtime/nixos/${f}, copied verbatim)`;
    }
  }
  await expect(JSON.stringify(map, null, 2)).toMatchFileSnapshot(
    "__snapshots__/example.files.json",
  );
});
