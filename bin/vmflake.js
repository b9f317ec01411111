#!/usr/bin/env node
// The `vmflake` command. vmflake ships its TypeScript sources as they are (no build step, so a
// tarball, a git URL and the registry install the same files); tsx, a dependency of vmflake,
// registers its loader in this process so the sources, and the user's hosts.ts, load as modules.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/bin.ts");
process.exitCode = await main(process.argv.slice(2));
