/** Command-line options of the build (`npx tsx build.ts`, `npx vmflake build`). */

export interface BuildOptions {
  readonly hosts: string;
  readonly out: string;
  readonly check: boolean;
  readonly diff: boolean;
  readonly typecheck: boolean;
  /** Generate the NixOS option types first (`vmflake types`). */
  readonly types: boolean;
  /** With `types`: the nixpkgs checkout to read the options of (else flake.lock's). */
  readonly nixpkgs: string | undefined;
  readonly help: boolean;
}

export const USAGE = `Usage: npx tsx build.ts [--hosts FILE] [--out DIR] [--check] [--diff] [--no-typecheck]
                         [--types [--nixpkgs PATH]]
   or: npx vmflake build [the same options]

Type-checks and validates the hosts file, then writes flake.nix and modules/ for it.

  --hosts FILE     the description to build (default: hosts.ts)
  --out DIR        where the flake goes (default: the directory of build.ts;
                   for vmflake build, the current directory)
  --check          write nothing; exit 1 and name every file that differs (for CI)
  --diff           write nothing; print a unified diff of what would change
  --no-typecheck   skip the TypeScript type check (validation still runs)
  --types          first generate the types of the NixOS options of flake.lock's nixpkgs
                   (as \`npx vmflake types\` does), which type a guest's \`config\`
  --nixpkgs PATH   with --types: read the options of this nixpkgs checkout instead
  -h, --help       show this help

Exit codes:
  0  the flake is written (or, with --check/--diff, already up to date)
  1  the hosts file has type errors or invalid values, or --check/--diff found differences
  2  wrong usage, or the hosts file could not be loaded
`;

export class UsageError extends Error {
  override name = "UsageError";
}

/** The value of option `flag` at `argv[i]`; a usage error when it is missing. */
export function optionValue(argv: readonly string[], i: number, flag: string): string {
  const v = argv[i];
  if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
  return v;
}

export function parseArgs(argv: readonly string[], defaultOut: string): BuildOptions {
  let hosts = "hosts.ts";
  let out = defaultOut;
  let check = false;
  let diff = false;
  let typecheck = true;
  let types = false;
  let nixpkgs: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => optionValue(argv, ++i, a);
    switch (a) {
      case "--hosts":
        hosts = value();
        break;
      case "--out":
        out = value();
        break;
      case "--check":
        check = true;
        break;
      case "--diff":
        diff = true;
        break;
      case "--no-typecheck":
        typecheck = false;
        break;
      case "--types":
        types = true;
        break;
      case "--nixpkgs":
        nixpkgs = value();
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  if (check && diff) throw new UsageError("use --check or --diff, not both");
  if (nixpkgs !== undefined && !types) throw new UsageError("--nixpkgs goes with --types");
  if (types && (check || diff))
    throw new UsageError("--types writes files; not with --check or --diff");
  return { hosts, out, check, diff, typecheck, types, nixpkgs, help };
}
