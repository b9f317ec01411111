/**
 * What the dsl tests need of Debian's Nix 2.8 `nix-instantiate`, on the shared runner of
 * test/support/nix.ts: evaluate or parse one Nix file (written to a directory, so relative paths
 * have a known base), and read its JSON output exactly (integers as bigint: JSON.parse would round
 * int64 values).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { nixRun } from "../../support/nix.ts";
import { withTempDir } from "../../support/temp.ts";

/** A JSON value read exactly: integers are bigint, numbers with `.`/exponent are number. */
export type Json = null | boolean | bigint | number | string | Json[] | { [key: string]: Json };

function run(args: readonly string[], cwd: string): string {
  return nixRun("nix-instantiate", args, { cwd });
}

/**
 * Write `source` as `<dir>/main.nix` (plus any extra files) and run nix-instantiate on it.
 * Returns stdout.
 */
export function nixInstantiate(
  mode: "eval" | "parse",
  source: string,
  opts: { dir?: string; files?: Readonly<Record<string, string>> } = {},
): string {
  const inDir = (dir: string): string => {
    for (const [name, text] of Object.entries(opts.files ?? {})) {
      writeFileSync(join(dir, name), text);
    }
    const file = join(dir, "main.nix");
    writeFileSync(file, source);
    const args = mode === "eval" ? ["--eval", "--strict", "--json", file] : ["--parse", file];
    return run(args, dir);
  };
  // Without a directory of the caller's, a fresh one for this call only.
  return opts.dir === undefined ? withTempDir(inDir, "vmflake-dsl-") : inDir(opts.dir);
}

/** `nix-instantiate --eval --strict --json`, read exactly. */
export function nixEval(
  source: string,
  opts: { dir?: string; files?: Readonly<Record<string, string>> } = {},
): Json {
  return parseJsonExact(nixInstantiate("eval", source, opts));
}

/** `nix-instantiate --parse`: Nix's normalised rendering of the parsed expression. */
export function nixParse(source: string, opts: { dir?: string } = {}): string {
  return nixInstantiate("parse", source, opts).trim();
}

/**
 * `nix-instantiate --parse` of several files in one call: their parsed forms, in order (Nix
 * prints each on one line).
 */
export function nixParseFiles(files: readonly string[], dir?: string): string[] {
  const inDir = (d: string): string[] => {
    const names = files.map((text, i) => {
      const name = join(d, `file${i}.nix`);
      writeFileSync(name, text);
      return name;
    });
    const out = run(["--parse", ...names], d)
      .trimEnd()
      .split("\n");
    if (out.length !== files.length)
      throw new Error(`expected ${files.length} parses, got ${out.length}`);
    return out;
  };
  return dir === undefined ? withTempDir(inDir, "vmflake-dsl-") : inDir(dir);
}

/** JSON.parse, but integers become bigint (Nix prints int64 exactly; doubles cannot hold it). */
export function parseJsonExact(text: string): Json {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`bad JSON at ${i}: ${what}: ${text.slice(i, i + 40)}`);
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: { [key: string]: Json } = {};
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const k = value();
        if (typeof k !== "string") fail("object key");
        ws();
        if (text[i++] !== ":") fail("expected :");
        // defineProperty: a key such as `__proto__` is data here.
        Object.defineProperty(obj, k as string, {
          value: value(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        const d = text[i++];
        if (d === "}") return obj;
        if (d !== ",") fail("expected , or }");
      }
    }
    if (c === "[") {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        const d = text[i++];
        if (d === "]") return arr;
        if (d !== ",") fail("expected , or ]");
      }
    }
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/su.exec(text.slice(i));
      if (m === null) return fail("string");
      i += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m !== null) {
      i += m[0].length;
      return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
    }
    for (const [lit, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return fail("unexpected token");
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing text");
  return v;
}

/**
 * A value as JSON text that Nix's `builtins.fromJSON` reads back as exactly this value: bigint
 * as an integer, number as a float (always with `.` or an exponent, so `1` stays a float).
 */
export function toJsonExact(v: Json): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return String(v);
    case "bigint":
      return v.toString();
    case "number": {
      if (!Number.isFinite(v)) throw new Error(`${v} has no JSON form`);
      const s = String(v);
      return /[.e]/.test(s) ? s : `${s}.0`;
    }
    case "string":
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(toJsonExact).join(",")}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${toJsonExact(x)}`)
    .join(",")}}`;
}

/**
 * A Nix function `a: b: bool`: deep equality that also requires equal types, so `1 == 1.0`
 * (true in Nix) is a mismatch here. Floats compare with Nix's `==` on doubles: exact.
 */
export const NIX_STRICT_EQ = `let
  strictEq =
    a: b:
    let
      t = builtins.typeOf a;
    in
    t == builtins.typeOf b
    && (
      if t == "list" then
        builtins.length a == builtins.length b
        && builtins.all (i: strictEq (builtins.elemAt a i) (builtins.elemAt b i)) (
          builtins.genList (i: i) (builtins.length a)
        )
      else if t == "set" then
        builtins.attrNames a == builtins.attrNames b
        && builtins.all (k: strictEq a.\${k} b.\${k}) (builtins.attrNames a)
      else
        a == b
    );
in
strictEq`;
