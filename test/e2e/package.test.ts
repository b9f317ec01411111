/**
 * vmflake as a user gets it: the packed tarball installed into a fresh directory, `npx vmflake
 * init`, `npm install`, `npx tsx build.ts` and its `--check`, a type error shown at its line
 * and column, and every emitted .nix file parsed by Nix. Uses the npm registry for vmflake's
 * dependencies (the local cache first).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { SCAFFOLD } from "../../cli/init/scaffold.ts";
import { REPO_ROOT } from "../support/build-cli.ts";
import { snapshotDir } from "../support/snapshot-dir.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith, nixEnv } from "../support/tools.ts";
import { run, runOk } from "./npm-env.ts";

const LONG = 600_000;

describeWith(["npm", "npx", "nix-instantiate", "diff"], "vmflake from its packed tarball", () => {
  const tmp = tempDir("vmflake-e2e-");
  const tool = join(tmp, "tool");
  const repo = join(tmp, "my-vms");
  let tarball = "";

  beforeAll(() => {
    const packed = runOk("npm", ["pack", "--pack-destination", tmp, "--json"], REPO_ROOT);
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    tarball = join(tmp, filename);
    mkdirSync(tool);
    runOk("npm", ["install", tarball], tool);
  }, LONG);

  it(
    "npx vmflake init writes the repository and lists its files",
    () => {
      // --no: the vmflake just installed, never one fetched from the registry.
      const r = runOk("npx", ["--no", "vmflake", "init", repo], tool);
      for (const { path } of SCAFFOLD) expect(r.stdout).toContain(`  ${path}\n`);
      const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
        devDependencies: Record<string, string>;
      };
      expect(pkg.devDependencies["vmflake"]).toBe(`file:${relative(repo, tarball)}`);
    },
    LONG,
  );

  it(
    "npm install there installs vmflake from the same tarball",
    () => {
      runOk("npm", ["install"], repo);
      const installed = JSON.parse(
        readFileSync(join(repo, "node_modules", "vmflake", "package.json"), "utf8"),
      ) as { version: string };
      const own = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
        version: string;
      };
      expect(installed.version).toBe(own.version);
    },
    LONG,
  );

  it(
    "the scaffolded files pass tsc and prettier as written",
    () => {
      // The compiler is vmflake's own dependency: the user installed nothing else.
      const fromVmflake = createRequire(join(repo, "node_modules", "vmflake", "package.json"));
      const tsc = join(fromVmflake.resolve("typescript/package.json"), "..", "bin", "tsc");
      const checked = run(process.execPath, [tsc, "-p", "."], repo);
      expect(`${checked.stdout}${checked.stderr}`).toBe("");
      expect(checked.code).toBe(0);
      const prettier = join(REPO_ROOT, "node_modules", ".bin", "prettier");
      const files = SCAFFOLD.map((f) => f.path).filter((p) => p !== ".gitignore");
      const formatted = run(
        prettier,
        ["--no-config", "--no-editorconfig", "--check", ...files],
        repo,
      );
      expect(formatted.code, formatted.stdout + formatted.stderr).toBe(0);
    },
    LONG,
  );

  it(
    "npx tsx build.ts writes the flake; --check then passes, with the bin too",
    () => {
      const built = runOk("npx", ["--no", "tsx", "build.ts"], repo);
      expect(built.stdout).toContain("create flake.nix");
      expect(built.stdout).toMatch(/^myhost\s+web\s/m);
      const check = runOk("npx", ["--no", "tsx", "build.ts", "--check"], repo);
      expect(check.stdout).toBe("The flake in . matches hosts.ts.\n");
      const bin = runOk("npx", ["--no", "vmflake", "build", "--check"], repo);
      expect(bin.stdout).toBe("The flake in . matches hosts.ts.\n");
      const script = runOk("npm", ["run", "--silent", "check"], repo);
      expect(script.stdout).toBe("The flake in . matches hosts.ts.\n");
    },
    LONG,
  );

  it(
    "every emitted .nix file parses",
    () => {
      const nixFiles = Object.keys(snapshotDir(repo, ["node_modules"])).filter((f) =>
        f.endsWith(".nix"),
      );
      expect(nixFiles).toEqual(expect.arrayContaining(["flake.nix", "modules/myhost.nix"]));
      for (const f of nixFiles) {
        execFileSync("nix-instantiate", ["--parse", join(repo, f)], {
          env: nixEnv,
          stdio: ["ignore", "ignore", "pipe"],
        });
      }
    },
    LONG,
  );

  it(
    "a type error in hosts.ts is shown as hosts.ts:LINE:COL, and nothing is written",
    () => {
      const file = join(repo, "hosts.ts");
      const good = readFileSync(file, "utf8");
      const bad = good.replace('memory: "2G"', 'memroy: "2G"');
      expect(bad).not.toBe(good);
      const lines = bad.split("\n");
      const line = lines.findIndex((l) => l.includes("memroy")) + 1;
      const col = lines[line - 1]!.indexOf("memroy") + 1;
      writeFileSync(file, bad);
      const before = snapshotDir(repo, ["node_modules"]);
      try {
        const r = run("npx", ["--no", "tsx", "build.ts"], repo);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`^hosts\\.ts:${line}:${col} TS2561: .*'memroy'`, "m"));
        expect(r.stderr).toContain("hosts.ts has type errors; nothing was written.");
        expect(snapshotDir(repo, ["node_modules"])).toEqual(before);
      } finally {
        writeFileSync(file, good);
      }
    },
    LONG,
  );

  it(
    "init into the repository now there refuses, names every file, and changes nothing",
    () => {
      const before = snapshotDir(repo, ["node_modules"]);
      const r = run("npx", ["--no", "vmflake", "init"], repo);
      expect(r.code).toBe(1);
      const names = SCAFFOLD.map((f) => f.path).join(", ");
      expect(r.stderr).toBe(`. already has ${names}; nothing was written.\n`);
      expect(snapshotDir(repo, ["node_modules"])).toEqual(before);
    },
    LONG,
  );
});
