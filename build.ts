/**
 * `npx tsx build.ts`: type-check and validate hosts.ts, then write flake.nix and modules/.
 * Run with --help for the options and exit codes. The same one-liner a user's repository has.
 */
import { build } from "vmflake/build";

process.exitCode = await build(import.meta.dirname);
