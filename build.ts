/**
 * `npx tsx build.ts`: type-check and validate hosts.ts, then write flake.nix and modules/.
 * Run with --help for the options and exit codes.
 */
import { runBuild } from "./cli/main.ts";

process.exitCode = await runBuild(process.argv.slice(2), import.meta.dirname);
