/**
 * Proof against real Nix (Debian's Nix 2.8): tables of hostile values from the lexical rules
 * (docs/design.md §3.2) are printed by the DSL,
 * evaluated or parsed by `nix-instantiate`, and compared with the originals. Every table is one
 * batch: one Nix call per table, results split back per entry so a failure names its entry.
 */
import { posix } from "node:path";
import { inspect, isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import * as n from "../../dsl/index.ts";
import { NixDslError, type NixExpr } from "../../dsl/index.ts";
import { describeWith } from "../support/tools.ts";
import { tempDir } from "../support/temp.ts";
import { NIX_STRICT_EQ, type Json, nixEval, toJsonExact } from "./support/nix.ts";
import { describeMismatches, evalAll, parseMismatches } from "./support/oracle.ts";
import { full } from "./support/parenthesised.ts";
import { OPS } from "./support/arbitraries.ts";

// ---------------------------------------------------------------------------------------------
// Tables

/** Hostile string contents: every escape hazard of both string forms (§a.2, §a.3, App. B). */
const HOSTILE: readonly string[] = [
  "",
  "plain",
  "${",
  "${x}",
  "$${",
  "$${x}",
  "$$${",
  "$$${x}",
  "$$$${x}",
  "\\${x}",
  "\\$${x}",
  "$",
  "$$",
  "a$",
  "a$$",
  "$\n{",
  "$\\{",
  "\\$",
  "$ {",
  "{",
  "}",
  "''",
  "'''",
  "''''",
  "'${",
  "'${x}'",
  "''${",
  "'''${x}",
  "''$",
  "''\\",
  "''\\'",
  "'",
  "a'",
  "'a",
  "a''",
  "x'\ny'",
  "\\",
  "\\\\",
  "a\\qb",
  '"',
  '\\"',
  '""',
  "\r",
  "a\rb",
  "\n",
  "\n\n",
  "\r\n",
  "a\r\nb\r\n",
  "\t",
  "a\tb",
  "\ta\n\tb",
  "  leading",
  "  a\n  b",
  "  a\n  b\n",
  "  a\n    b\n",
  "a\n  b",
  "trailing  ",
  "a  \nb",
  "a\nb \n",
  "a\n  \nb",
  "a\n\nb\n",
  " \n ",
  "a\nb\n  ",
  "   ",
  "\n  x",
  "x\n",
  "é ü 中文 🎉 \u200b \u00a0 \u2028 \u{10ffff}",
  "emoji \u{1f600}\nsecond line 🎉",
  "mixed '${x}' $${y} ''z'' \\ \" \t end$",
  "script:\n  if [ \"$x\" ]; then\n    echo \"${HOME}\" '$1' ''\n  fi\n",
  "ends with quote '",
  "ends with quotes ''",
  "line\nends with quote '",
  "line\nends with dollar $",
  "line\n$",
  "line\n'",
];

/** Every hostile string, and each also embedded in multi-line text (the `''` form's cases). */
function stringCases(): string[] {
  const out: string[] = [];
  for (const s of HOSTILE) out.push(s, `first\n${s}\nlast`, `${s}\n`, `head\n${s}`, `${s}${s}`);
  return out;
}

/** Interpolated strings: the hostile text around and between real `${…}` holes. */
function interpolationCases(): { expr: NixExpr; value: string }[] {
  const x = n.v("x"); // bound to X below
  const out: { expr: NixExpr; value: string }[] = [];
  for (const s of HOSTILE) {
    out.push({ expr: n.concat([s, x]), value: `${s}${X}` });
    out.push({ expr: n.concat([x, s]), value: `${X}${s}` });
    out.push({ expr: n.concat([s, x, s]), value: `${s}${X}${s}` });
    out.push({ expr: n.concat([`l1\n${s}`, x, `${s}\nl3`]), value: `l1\n${s}${X}${s}\nl3` });
    // A hostile string literal inside the hole, in both outer forms.
    out.push({ expr: n.nix`${s}${n.str(s)}${s}`, value: `${s}${s}${s}` });
    out.push({ expr: n.nix`a\n${n.str(s)}\n`, value: `a\n${s}\n` });
    // `$` right before a real interpolation: must be `\$${…}` / `''$${…}`.
    out.push({ expr: n.concat([`${s}$`, x]), value: `${s}$${X}` });
    out.push({ expr: n.concat([`\n${s}$`, x, "\n"]), value: `\n${s}$${X}\n` });
  }
  return out;
}
const X = "<X $ ' ${x}>";

const ATTR_NAMES: readonly string[] = [
  "or",
  "true",
  "false",
  "null",
  "if",
  "then",
  "else",
  "assert",
  "with",
  "let",
  "in",
  "rec",
  "inherit",
  "import",
  "builtins",
  "9p",
  "0",
  "",
  " ",
  "a.b",
  "a b",
  "${x}",
  "$${x}",
  "a${",
  "$",
  "a-b",
  "a'b",
  "a'",
  "_",
  "_a",
  "x86_64-linux",
  "'a",
  "-a",
  "é",
  '"',
  "\\",
  "\n",
  "a\tb",
  "\r\n",
  "__proto__",
  "constructor",
  "''",
  "qemu@vm",
];

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const INTS: readonly bigint[] = [
  0n,
  1n,
  -1n,
  42n,
  -42n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  INT64_MAX,
  INT64_MAX - 1n,
  INT64_MIN,
  INT64_MIN + 1n,
];

const FLOATS: readonly number[] = [
  0,
  0.5,
  1.0,
  2.0,
  0.1,
  0.30000000000000004,
  123456789.123,
  1e21,
  1e22,
  1e16,
  1e-5,
  5e-7,
  1e100,
  1.7976931348623157e308,
  2.2250738585072014e-308, // smallest normal
  2.225073858507201e-308, // largest subnormal
  5e-324, // smallest subnormal
  1e-320,
  -0.5,
  -1.0,
  -1e21,
  -5e-324,
  -1.7976931348623157e308,
  Math.PI,
  2 ** 53,
];

// Paths: [value, what `builtins.toString` must give, relative to the file's directory `D`].
const PATHS: readonly string[] = [
  "./a",
  "../b",
  "/x/y",
  "./a b",
  "./a/b c/d",
  "./a/b.c+d_e-f",
  "./.",
  "../.",
  "/",
  "./a/",
  "/x/y/",
  "./a@b",
  "./a${b}",
  "./ü",
  "/x/../y",
  "./a/../b",
  "a/b",
  './a"b',
  "./a\\b",
  "/a'b",
];

// ---------------------------------------------------------------------------------------------
// Without Nix: what the DSL must refuse, and a few exact spellings

describe("escaping: values without a Nix form are refused", () => {
  const refused: [string, () => unknown][] = [
    ["NaN (toExpr)", () => n.printExpr(NaN)],
    ["NaN (float)", () => n.float(NaN)],
    ["Infinity", () => n.printExpr(Infinity)],
    ["-Infinity", () => n.printExpr(n.float(-Infinity))],
    ["NaN inside a list", () => n.printExpr([1, NaN])],
    ["NUL in a string", () => n.printExpr("a\0b")],
    ["NUL in an interpolated string", () => n.printExpr(n.concat(["a\0", n.v("x")]))],
    ["NUL in an attribute name", () => n.printExpr({ "a\0": 1 })],
    ["NUL in a selected name", () => n.printExpr(n.select(n.v("a"), "b\0"))],
    ["NUL in a path", () => n.printExpr(n.path("./a\0b"))],
    ["NUL in a comment", () => n.printFile({ comment: ["a\0"], body: n.int(1) })],
    ["2^63", () => n.printExpr(n.int(2n ** 63n))],
    ["-2^63 - 1", () => n.printExpr(n.int(-(2n ** 63n) - 1n))],
    ["a non-integer number as int", () => n.int(1.5)],
    ["an unsafe integer number as int", () => n.int(2 ** 53)],
    ["keyword as variable", () => n.v("or")],
    ["keyword as parameter", () => n.printExpr(n.lambda("let", 1))],
    ["non-identifier formal", () => n.printExpr(n.lambda({ formals: ["a b"] }, 1))],
    ["dynamic name in let", () => n.printExpr(n.let_([n.bind([n.v("x")], 1)], 1))],
    ["duplicate attribute", () => n.printExpr(n.attrs([n.bind("a", 1), n.bind("a", 2)]))],
  ];
  for (const [name, f] of refused) {
    it(name, () => {
      expect(f).toThrow(NixDslError);
    });
  }
  it("names the problem", () => {
    expect(() => n.printExpr(NaN)).toThrow(/NaN has no Nix literal/);
    expect(() => n.printExpr(n.int(2n ** 63n))).toThrow(/does not fit in 64 bits/);
    expect(() => n.printExpr("\0")).toThrow(/NUL/);
  });
});

describe("escaping: exact spellings", () => {
  const x = n.v("x");
  const table: [unknown, string][] = [
    ["${x}", '"\\${x}"'],
    ["$${x}", '"$${x}"'],
    ["$$${x}", '"$$\\${x}"'],
    [n.concat(["$", x]), '"\\$${x}"'],
    [n.concat(["$$", x]), '"$$${x}"'],
    ["a\r\n\tb", '"a\\r\\n\\tb"'],
    ["  a\n  b\n", '"  a\\n  b\\n"'], // every line indented: `''` would strip it
    ["a\nb ", '"a\\nb "'], // trailing space
    ["a\n'${x}'", "''\n  a\n  ''\\'''${x}''\\'''"],
    ["a\n$${x}", "''\n  a\n  $${x}''"],
    [n.float(1), "1.0"],
    [1e21, "1.0e+21"],
    [5e-7, "5.0e-7"],
    [[-1, n.float(-0.5)], "[\n  (-1)\n  (-0.5)\n]"],
    [n.int(INT64_MIN), "-9223372036854775807 - 1"],
    [n.path("./a b"), './. + "/a b"'],
    [n.path("/"), "/."],
    [{ or: 1 }, '{ "or" = 1; }'],
    [{ "": 1 }, '{ "" = 1; }'],
    [{ true: 1 }, "{ true = 1; }"],
  ];
  for (const [value, text] of table) {
    it(JSON.stringify(text), () => {
      expect(n.printExpr(value as n.NixValue)).toBe(text);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// With Nix

/** Compare element by element; the message names the first differing entries. */
function expectSame(label: (i: number) => string, got: readonly Json[], want: readonly Json[]) {
  expect(got.length).toBe(want.length);
  const bad: string[] = [];
  const show = (v: unknown): string => inspect(v, { depth: 8, breakLength: Infinity });
  want.forEach((w, i) => {
    if (!isDeepStrictEqual(got[i], w)) {
      bad.push(`${label(i)}\n    want ${show(w)}\n    got  ${show(got[i])}`);
    }
  });
  expect(bad.slice(0, 8).join("\n"), `${bad.length} mismatches`).toBe("");
}

describeWith(["nix-instantiate"], "escaping: strings evaluated by real Nix", () => {
  it("hostile strings as plain values, in both string forms", () => {
    const cases = stringCases();
    const forms = cases.map((s) => (n.printExpr(s).startsWith("''") ? "indented" : "double"));
    // Both printer paths must be exercised by the table.
    expect(forms.filter((f) => f === "indented").length).toBeGreaterThan(100);
    expect(forms.filter((f) => f === "double").length).toBeGreaterThan(100);
    // Nested deeply, so the `''` form is re-indented.
    const got = nixEval(n.printExpr({ a: { b: [{ c: cases }] } })) as {
      a: { b: [{ c: Json[] }] };
    };
    expectSame((i) => `case ${i} ${JSON.stringify(cases[i])}`, got.a.b[0].c, cases);
  });

  it("hostile strings around real interpolations", () => {
    const cases = interpolationCases();
    const got = nixEval(n.printExpr(n.let_({ x: X }, { list: cases.map((c) => c.expr) }))) as {
      list: Json[];
    };
    expectSame(
      (i) => `case ${i}: ${n.printExpr(cases[i]!.expr)}`,
      got.list,
      cases.map((c) => c.value),
    );
  });

  it("hostile attribute names: define, list, select, test, nest, inherit", () => {
    const sets = ATTR_NAMES.map((k) => n.attrs([n.bind(k, k)]));
    const results = evalAll(
      ATTR_NAMES.map((k, i) =>
        n.list([
          n.builtins.attrNames(sets[i]!),
          n.select(sets[i]!, k),
          n.has(sets[i]!, k),
          n.select(n.attrs([n.bind([k, k], 1)]), k, k),
          n.selectOr(n.attrs({}), [k], "fallback"),
          n.builtins.attrNames(n.attrs([n.inherit([k], { from: sets[i]! })])),
          // A dynamic name: `${"<k>"}` / `"<${"k"}>"`.
          n.select(n.attrs([n.bind([n.nix`<${n.str(k)}>`], 2)]), n.nix`<${n.str(k)}>`),
        ]),
      ),
    );
    expectSame(
      (i) => `name ${JSON.stringify(ATTR_NAMES[i])}`,
      results,
      ATTR_NAMES.map((k) => [[k], k, true, 1n, "fallback", [k], 2n]),
    );
  });

  it("plain objects with hostile keys convert to the same attribute set", () => {
    const obj: Record<string, string> = {};
    for (const k of ATTR_NAMES) if (k !== "__proto__") obj[k] = `v${k}`;
    const got = nixEval(n.printExpr(obj)) as Record<string, Json>;
    expect({ ...got }).toEqual(obj);
  });
});

describeWith(["nix-instantiate"], "escaping: numbers evaluated by real Nix", () => {
  it("integers, including the int64 extremes, alone, in lists and as arguments", () => {
    const results = evalAll(
      INTS.map((i) =>
        n.list([
          n.int(i),
          n.list([n.int(i), n.int(i)]),
          n.call(n.lambda("v", n.v("v")), n.int(i)),
          n.builtins.typeOf(n.int(i)),
        ]),
      ),
    );
    expectSame(
      (k) => `int ${INTS[k]}: ${n.printExpr(n.int(INTS[k]!))}`,
      results,
      INTS.map((i) => [i, [i, i], i, "int"]),
    );
  });

  it("floats read back bit-exactly (compared inside Nix: Nix 2.8 prints 6 digits)", () => {
    // `nix-instantiate --json` prints floats with C++'s default 6 significant digits, so the
    // comparison happens in Nix: the expected values come through builtins.fromJSON (exact,
    // strtod), and `==` on two floats compares the doubles.
    const dir = tempDir();
    const i = n.v("i");
    const got = nixEval(
      n.printExpr(
        n.let_(
          {
            eq: n.call(n.v("import"), n.path("./eq.nix")),
            want: n.builtins.fromJSON(n.builtins.readFile(n.path("./expected.json"))),
            have: n.list(FLOATS.map((f) => n.float(f))),
          },
          n.builtins.genList(
            n.lambda(
              "i",
              n.call(
                n.v("eq"),
                n.builtins.elemAt(n.v("want"), i),
                n.builtins.elemAt(n.v("have"), i),
              ),
            ),
            FLOATS.length,
          ),
        ),
      ),
      {
        dir,
        files: {
          "eq.nix": `${NIX_STRICT_EQ}\n`,
          "expected.json": `[${FLOATS.map((f) => toJsonExact(f)).join(",")}]`,
        },
      },
    ) as boolean[];
    const bad = FLOATS.filter((_, i) => got[i] !== true).map(
      (f) => `${f} printed as ${n.printExpr(n.float(f))}`,
    );
    expect(bad).toEqual([]);
  });

  it("the strict comparison itself tells 1 from 1.0 and 0.1 from 0.1000000000000001", () => {
    const got = nixEval(
      `let eq = ${NIX_STRICT_EQ}; in [ (eq 1 1.0) (eq 0.1 0.1000000000000001) (eq 0.1 0.1) (eq { a = [ 1 ]; } { a = [ 1 ]; }) ]`,
    );
    expect(got).toEqual([false, false, true, true]);
  });
});

describeWith(["nix-instantiate"], "escaping: paths evaluated by real Nix", () => {
  it("literal or not, each path is the same path value (builtins.toString)", () => {
    const dir = tempDir();
    const src = n.printExpr(
      n.list(
        PATHS.map((p) => n.list([n.builtins.toString(n.path(p)), n.builtins.typeOf(n.path(p))])),
      ),
    );
    const got = nixEval(src, { dir }) as Json[];
    const want = PATHS.map((p) => [posix.resolve(dir, p.startsWith("/") ? p : `./${p}`), "path"]);
    expectSame(
      (i) => `path ${JSON.stringify(PATHS[i])} printed as ${n.printExpr(n.path(PATHS[i]!))}`,
      got,
      want,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Precedence

const a = n.v("a");
const b = n.v("b");
const c = n.v("c");
const f = n.v("f");

/** Right-extending constructs (lambda, let, with, assert, if) and other awkward operands. */
function awkward(): NixExpr[] {
  return [
    n.lambda("x", n.v("x")),
    n.lambda({ formals: ["x"], ellipsis: true }, n.v("x")),
    n.let_({ y: 1 }, n.v("y")),
    n.with_(a, b),
    n.assert_(a, b),
    n.if_(a, b, c),
    n.neg(a),
    n.not(a),
    n.neg(n.call(f, a)),
    n.has(a, "b"),
    n.selectOr(a, ["b"], c),
    n.call(f, a),
    n.op(a, "+", b),
    n.int(-1),
    n.float(-0.5),
    n.int(INT64_MIN),
    n.path("./p"),
    n.path("./p q"),
    n.int(1),
    n.float(1.5),
    n.str("s"),
    n.nix`s${a}`,
    n.list([a]),
    n.attrs({ k: a }),
  ];
}

function precedenceCases(): NixExpr[] {
  const out: NixExpr[] = [];
  // Every pair of binary operators, nested on either side.
  for (const o1 of OPS) {
    for (const o2 of OPS) {
      out.push(n.op(n.op(a, o1, b), o2, c), n.op(a, o1, n.op(b, o2, c)));
    }
  }
  for (const o of OPS) {
    // Unary operators, `?` and `or` as operands, and operators under them.
    out.push(
      n.op(n.neg(a), o, b),
      n.op(a, o, n.neg(b)),
      n.op(n.not(a), o, b),
      n.op(a, o, n.not(b)),
      n.neg(n.op(a, o, b)),
      n.not(n.op(a, o, b)),
      n.op(n.has(a, "x"), o, b),
      n.op(a, o, n.has(b, "x")),
      n.has(n.op(a, o, b), "x"),
      n.op(n.selectOr(a, ["x"], b), o, c),
      n.op(a, o, n.selectOr(b, ["x"], c)),
      n.selectOr(a, ["x"], n.op(b, o, c)),
      n.call(f, n.op(a, o, b)),
      n.list([n.op(a, o, b)]),
    );
  }
  // Awkward expressions in every position.
  for (const e of awkward()) {
    out.push(
      n.op(e, "+", a),
      n.op(a, "+", e),
      n.op(e, "->", a),
      n.op(a, "->", e),
      n.op(e, "==", a),
      n.op(a, "//", e),
      n.call(f, e),
      n.call(f, e, a),
      n.call(e, a),
      n.list([e, e]),
      n.select(e, "x"),
      n.select(e, "x", "y"),
      n.selectOr(e, ["x"], a),
      n.selectOr(a, ["x"], e),
      n.has(e, "x"),
      n.neg(e),
      n.not(e),
      n.with_(e, a),
      n.assert_(e, a),
      n.if_(e, e, e),
      n.lambda("z", e),
      n.let_({ z: e }, e),
      n.attrs([n.bind([e], a)]),
      n.concat(["<", e, ">"]),
      n.concat(["<\n", e, "\n>"]),
    );
  }
  // Selections of selections, with and without `or`.
  out.push(
    n.select(n.select(a, "x"), "y"),
    n.select(n.selectOr(a, ["x"], b), "y"),
    n.selectOr(n.select(a, "x"), ["y"], b),
    n.selectOr(n.selectOr(a, ["x"], b), ["y"], c),
    n.has(n.has(a, "x"), "y"),
    n.neg(n.neg(a)),
    n.not(n.not(a)),
    n.call(n.call(f, a), b),
    n.call(f, n.call(f, a)),
    n.call(n.select(f, "g"), a),
    n.call(n.neg(f), a),
  );
  return out;
}

describeWith(["nix-instantiate"], "precedence: parsed by real Nix", () => {
  it("printed = fully parenthesised, for every operator pair and awkward operand", () => {
    const cases = precedenceCases();
    expect(cases.length).toBeGreaterThan(900);
    const bad = parseMismatches(cases);
    expect(describeMismatches(bad, 40), `${bad.length} of ${cases.length} parse differently`).toBe(
      "",
    );
  });

  it("evaluates as the fully parenthesised form (ints and booleans)", () => {
    const numeric = ["+", "-", "*", "/"] as const;
    const arith = [...numeric, "<", "<=", ">", ">=", "==", "!="] as const;
    const logic = ["&&", "||", "->", "==", "!="] as const;
    const isNumeric = (o: string): boolean => (numeric as readonly string[]).includes(o);
    const cases: NixExpr[] = [];
    // Only type-correct combinations: an operand that must be a number is never a comparison.
    const addArith = (x: NixExpr, y: NixExpr, z: NixExpr): void => {
      for (const o1 of arith)
        for (const o2 of arith) {
          if (isNumeric(o1)) cases.push(n.op(n.op(x, o1, y), o2, z));
          if (isNumeric(o2)) cases.push(n.op(x, o1, n.op(y, o2, z)));
        }
    };
    const addLogic = (x: NixExpr, y: NixExpr, z: NixExpr): void => {
      for (const o1 of logic)
        for (const o2 of logic)
          cases.push(n.op(n.op(x, o1, y), o2, z), n.op(x, o1, n.op(y, o2, z)));
    };
    addArith(n.int(7), n.int(3), n.int(2));
    addArith(n.int(-7), n.neg(n.int(3)), n.float(2.5));
    for (const [x, y, z] of [
      [true, false, true],
      [false, true, false],
      [true, true, false],
    ] as const) {
      addLogic(n.toExpr(x), n.toExpr(y), n.toExpr(z));
      addLogic(n.not(n.toExpr(x)), n.toExpr(y), n.not(n.toExpr(z)));
    }
    const id = n.lambda("v", n.op(n.v("v"), "*", 2));
    cases.push(
      n.neg(n.call(id, 3)),
      n.op(n.neg(n.call(id, 3)), "-", n.neg(n.int(1))),
      n.call(n.lambda("v", n.op(n.v("v"), "+", 1)), n.int(-1)),
      n.op(n.if_(true, 1, 2), "+", 3),
      n.op(3, "+", n.if_(false, 1, 2)),
      n.op(n.let_({ y: 1 }, n.v("y")), "*", 5),
      n.op(n.selectOr(n.attrs({}), ["x"], 4), "+", 1),
      n.selectOr(n.attrs({}), ["x"], n.op(4, "+", 1)),
      n.not(n.has(n.attrs({ x: 1 }), "x")),
      n.op(n.has(n.attrs({ x: 1 }), "x"), "&&", false),
      n.select(n.selectOr(n.attrs({}), ["x"], n.attrs({ y: 5 })), "y"),
      n.selectOr(n.select(n.attrs({ x: {} }), "x"), ["y"], 6),
      n.op(n.list([1]), "++", n.op(n.list([2]), "++", n.list([n.int(-3)]))),
      n.op(n.attrs({ p: 1 }), "//", n.op(n.attrs({ p: 2 }), "//", n.attrs({ q: 3 }))),
    );
    const printed = nixEval(n.printExpr(n.list(cases))) as Json[];
    const reference = nixEval(`[ ${cases.map((e) => `(${full(e)})`).join(" ")} ]`) as Json[];
    expectSame((i) => `case ${i}: ${n.printExpr(cases[i]!)}`, printed, reference);
    // And the interesting ones by value.
    expect(printed.slice(-14)).toEqual([
      -6n,
      -5n,
      0n,
      4n,
      5n,
      5n,
      5n,
      5n,
      false,
      false,
      5n,
      6n,
      [1n, 2n, -3n],
      { p: 2n, q: 3n },
    ]);
  });

  it("a selection on a missing attribute with `or` keeps its scope", () => {
    // `(s.x).y or d` fails when `x` is missing; `s.x.y or d` gives d: not the same program.
    const e = n.selectOr(n.select(n.v("s"), "x"), ["y"], "default");
    expect(() => nixEval(n.printExpr(n.let_({ s: {} }, e)))).toThrow(/attribute 'x' missing/);
  });
});
