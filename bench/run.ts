/**
 * `npm run bench`: runs every benchmark module in the list below, in order. A benchmark module
 * exports `run(): Promise<void>`, which prints its own numbers. To add one, import it and
 * append it to `benchmarks`. `npm run bench -- <name>…` runs only the named ones.
 */
import * as build from "./build.ts";
import * as dslPrint from "./dsl-print.ts";
import * as hostEval from "./host-eval.ts";
import * as nixosTypes from "./nixos-types.ts";

interface Benchmark {
  readonly name: string;
  readonly run: () => Promise<void>;
}

const benchmarks: readonly Benchmark[] = [
  { name: "dsl-print", run: dslPrint.run },
  { name: "build", run: build.run },
  { name: "host-eval", run: hostEval.run },
  { name: "nixos-types", run: nixosTypes.run },
];

const only = process.argv.slice(2);
const unknown = only.filter((name) => !benchmarks.some((b) => b.name === name));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(", ")}; known: ${benchmarks.map((b) => b.name).join(", ")}`,
  );
  process.exit(2);
}
for (const b of benchmarks) {
  if (only.length > 0 && !only.includes(b.name)) continue;
  console.log(`\n== ${b.name}`);
  await b.run();
}
