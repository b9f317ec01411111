// `npx tsx build.ts` checks hosts.ts and writes the flake (flake.nix, modules/)
// beside it. `npx tsx build.ts --help` lists the options (--check for CI).
import { build } from "vmflake/build";

process.exitCode = await build(import.meta.dirname);
