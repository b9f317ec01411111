/**
 * File-map snapshot of the example (hosts.ts): every generated file by path. Layout changes show
 * up here as a reviewable diff; what the files MEAN is asserted by the evaluation tests.
 */
import { join } from "node:path";
import { expect, it } from "vitest";
import { printFile } from "../../dsl/index.ts";
import { emitFlake, resolveSpec } from "../../lib/index.ts";
import { REPO_ROOT } from "../support/build-cli.ts";

it("the example flake, file by file", async () => {
  const spec = ((await import(join(REPO_ROOT, "hosts.ts"))) as { default: unknown }).default;
  const files = Object.fromEntries(
    emitFlake(resolveSpec(spec), "hosts.ts").map((f) => [f.path, printFile(f.file)]),
  );
  expect(Object.keys(files).sort()).toEqual(
    expect.arrayContaining([
      "flake.nix",
      "modules/study.nix",
      "modules/study/alice.nix",
      "modules/study/bob.nix",
    ]),
  );
  await expect(JSON.stringify(files, null, 2)).toMatchFileSnapshot(
    "__snapshots__/example.files.json",
  );
});
