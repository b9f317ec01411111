/**
 * fast-check arbitraries for the dsl property tests: hostile strings from a weighted alphabet,
 * JSON-like data (ints as bigint within int64, floats as number), and random Nix expressions
 * built with the dsl constructors.
 */
import fc from "fast-check";
import * as n from "../../../dsl/index.ts";
import type { NixAttrKey, NixBinding, NixExpr } from "../../../dsl/index.ts";
import type { Json } from "./nix.ts";

export const INT64_MAX = (1n << 63n) - 1n;
export const INT64_MIN = -(1n << 63n);

/** Seed from FC_SEED (to replay a failure printed by fast-check), else fast-check's own. */
export function seedOption(): { seed?: number } {
  const s = process.env.FC_SEED;
  return s === undefined || s === "" ? {} : { seed: Number(s) };
}

/** One unit of a hostile string: mostly the characters that Nix strings treat specially. */
const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom("$", "{", "}", "'", '"', "\\", "\r", "\n", "\t", " "),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom("a", "b", "x", "$$", "${", "''", "'${", "\r\n", "  ", "\n  "),
  },
  { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "é",
      "中",
      "🎉",
      "\u200b",
      "\u00a0",
      "\u2028",
      "\u{10ffff}",
      "\u0001",
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 1 })
      .filter((s) => !s.includes("\0")),
  },
);

/** A string full of escape hazards (never a NUL: no Nix string can hold one). */
export const hostileString = (maxLength = 16): fc.Arbitrary<string> =>
  fc.string({ unit: hostileUnit, maxLength });

/** int64, with the extremes and small values more likely than uniform sampling makes them. */
export const int64: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }) },
  { weight: 2, arbitrary: fc.bigInt({ min: -1000n, max: 1000n }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(INT64_MIN, INT64_MIN + 1n, INT64_MAX, 0n, -1n, 2n ** 53n + 1n),
  },
);

/**
 * Finite doubles, subnormals and extremes included. Not -0.0: Nix has no literal for it and
 * `-0.0` (that is `0 - 0.0`) is +0.0; Nix's `==` cannot tell them apart either.
 */
export const finiteDouble: fc.Arbitrary<number> = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }),
    },
    { weight: 2, arbitrary: fc.double({ noNaN: true, min: -1e6, max: 1e6 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(0.1, 1, 1e21, 5e-7, 5e-300, 1.7976931348623157e308, -2.5, 2 ** 53),
    },
  )
  .filter((x) => !Object.is(x, -0));

/** Attribute names: hostile strings, but not `outPath` (Nix prints such a set as that value). */
const attrName: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 3, arbitrary: hostileString(8) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("or", "if", "in", "true", "9p", "", "a.b", "__proto__"),
    },
    { weight: 1, arbitrary: fc.constantFrom("a", "x-y", "a'", "_", "foo_bar") },
  )
  .filter((k) => k !== "outPath");

/** JSON-like data: null, booleans, int64 (bigint), floats (number), strings, arrays, objects. */
export const jsonData: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true, maxDepth: 5 },
    fc.constant(null),
    fc.boolean(),
    int64,
    finiteDouble,
    hostileString(),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(attrName, tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

/** The dsl expression for a JSON-like value (numbers are floats, bigints are ints). */
export function dataToExpr(v: Json): NixExpr {
  if (v === null) return n.toExpr(null);
  switch (typeof v) {
    case "boolean":
      return n.toExpr(v);
    case "bigint":
      return n.int(v);
    case "number":
      return n.float(v);
    case "string":
      return n.str(v);
  }
  if (Array.isArray(v)) return n.list(v.map(dataToExpr));
  return n.attrs(Object.entries(v).map(([k, x]) => n.bind(k, dataToExpr(x))));
}

// ---------------------------------------------------------------------------------------------
// Random expressions

/** Every binary operator of the DSL. */
export const OPS = [
  "++",
  "*",
  "/",
  "+",
  "-",
  "//",
  "<",
  "<=",
  ">",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "->",
] as const;

const variable = fc.constantFrom("a", "b", "c", "f", "g", "x", "y", "x-y", "a'", "true", "null");
const ident = fc.constantFrom("a", "b", "x", "y", "z", "foo-bar", "a'");
const formalName = fc.constantFrom("p", "q", "r", "s", "t");
const bindName = fc.constantFrom("args", "self'");
const inheritName = fc.constantFrom("ia", "ib", "i-c", "i'd");

/** Static attribute names (keywords and non-identifiers get quoted). */
const staticName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("a", "b", "x-y", "a'", "_k") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("or", "if", "let", "true", "9p", "", "a b", "${x}", "$"),
  },
  { weight: 1, arbitrary: hostileString(6) },
);

const literalPath = fc.constantFrom("./a", "../b/c", "/x", "./a.nix", "./a-b+c_d", "/.", "./.");
const otherPath = fc.constantFrom("./a b", "a/b", "/x y", "./a/", "./é");

export interface ExprArbs {
  readonly expr: fc.Arbitrary<NixExpr>;
}

/** Random expressions of every kind, built with the dsl constructors. */
export function exprArbitrary(maxDepth = 4): fc.Arbitrary<NixExpr> {
  const { expr } = fc.letrec<{ expr: NixExpr; leaf: NixExpr }>((tie) => {
    const e = tie("expr");
    const key: fc.Arbitrary<NixAttrKey> = fc.oneof(
      { weight: 4, arbitrary: staticName },
      { weight: 1, arbitrary: variable.map((v) => n.v(v)) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(hostileString(4), e, hostileString(4))
          .map(([p, x, s]) => n.concat([p, x, s])),
      },
    );
    const keys = fc.array(key, { minLength: 1, maxLength: 3 });
    // Bindings: static first names are unique (Nix rejects a name defined twice).
    const bindings = (dynamic: boolean): fc.Arbitrary<NixBinding[]> =>
      fc
        .tuple(
          fc.uniqueArray(
            fc.tuple(staticName, fc.array(dynamic ? key : staticName, { maxLength: 2 }), e),
            { selector: (t) => t[0], maxLength: 3 },
          ),
          fc.option(
            fc.tuple(fc.uniqueArray(inheritName, { minLength: 1, maxLength: 4 }), fc.option(e)),
          ),
          dynamic ? fc.array(fc.tuple(e, e), { maxLength: 1 }) : fc.constant([]),
        )
        .map(([named, inh, dyn]) => {
          const inherited = new Set<string>(inh?.[0] ?? []);
          const out: NixBinding[] = named
            .filter(([k]) => !inherited.has(k))
            .map(([k, rest, v]) => n.bind([k, ...rest], v));
          if (inh !== null) {
            const [names, from] = inh;
            out.push(n.inherit(names, from === null ? {} : { from }));
          }
          // A string without holes is a static name, and could repeat one: leave it out.
          for (const [k, v] of dyn) {
            if (!(k.kind === "string" && k.parts.every((p) => typeof p === "string")))
              out.push(n.bind([k], v));
          }
          return out;
        });
    const parts = fc.array(fc.oneof(hostileString(6), e), { maxLength: 4 });
    return {
      leaf: fc.oneof(
        { weight: 4, arbitrary: variable.map((v) => n.v(v)) },
        { weight: 2, arbitrary: int64.map((i) => n.int(i)) },
        { weight: 1, arbitrary: finiteDouble.map((x) => n.float(x)) },
        { weight: 1, arbitrary: fc.constantFrom(true, false, null).map((x) => n.toExpr(x)) },
        { weight: 2, arbitrary: hostileString(10).map((s) => n.str(s)) },
        { weight: 1, arbitrary: fc.oneof(literalPath, otherPath).map((p) => n.path(p)) },
        { weight: 1, arbitrary: fc.constant(n.attrs({})) },
        { weight: 1, arbitrary: fc.constant(n.list([])) },
      ),
      expr: fc.oneof(
        { depthSize: "small", maxDepth, withCrossShrink: true },
        tie("leaf"),
        {
          // Operators weigh more: precedence mistakes show up in operator nests.
          weight: 6,
          arbitrary: fc.tuple(e, fc.constantFrom(...OPS), e).map(([l, o, r]) => n.op(l, o, r)),
        },
        e.map((x) => n.neg(x)),
        e.map((x) => n.not(x)),
        fc.tuple(e, fc.array(e, { minLength: 1, maxLength: 3 })).map(([f, as]) => n.call(f, ...as)),
        fc.tuple(e, keys).map(([b, ks]) => n.select(b, ...ks)),
        fc.tuple(e, keys, e).map(([b, ks, d]) => n.selectOr(b, ks, d)),
        fc.tuple(e, keys).map(([b, ks]) => n.has(b, ...ks)),
        fc.tuple(ident, e).map(([p, b]) => n.lambda(p, b)),
        fc
          .tuple(
            fc.uniqueArray(fc.tuple(formalName, fc.option(e)), {
              selector: (t) => t[0],
              maxLength: 4,
            }),
            fc.boolean(),
            fc.option(fc.tuple(bindName, fc.boolean())),
            e,
          )
          .map(([formals, ellipsis, bind, body]) =>
            n.lambda(
              {
                formals: formals.map(([name, d]) => (d === null ? name : ([name, d] as const))),
                ellipsis,
                ...(bind === null ? {} : { bind: bind[0], bindBefore: bind[1] }),
              },
              body,
            ),
          ),
        fc
          .tuple(bindings(false), e)
          .filter(([bs]) => bs.length > 0)
          .map(([bs, body]) => n.let_(bs, body)),
        fc.tuple(e, e).map(([s, b]) => n.with_(s, b)),
        fc.tuple(e, e).map(([c, b]) => n.assert_(c, b)),
        fc.tuple(e, e, e).map(([c, t, f]) => n.if_(c, t, f)),
        fc.array(e, { maxLength: 4 }).map((items) => n.list(items)),
        fc.tuple(fc.boolean(), bindings(true)).map(([r, bs]) => (r ? n.rec(bs) : n.attrs(bs))),
        parts.map((ps) => n.concat(ps)),
      ),
    };
  });
  return expr;
}

/**
 * Rebuild an expression from scratch with the constructors (a structurally equal, separately
 * built tree), for the determinism property.
 */
export function rebuild(e: NixExpr): NixExpr {
  const key = (k: NixAttrKey): NixAttrKey => (typeof k === "string" ? `${k}` : rebuild(k));
  const bindings = (bs: readonly NixBinding[]): NixBinding[] =>
    bs.map((b) =>
      b.kind === "inherit"
        ? n.inherit([...b.names], b.from === undefined ? {} : { from: rebuild(b.from) })
        : n.bind(b.path.map(key), rebuild(b.value)),
    );
  switch (e.kind) {
    case "null":
      return n.toExpr(null);
    case "bool":
      return n.toExpr(e.value);
    case "int":
      return n.int(BigInt(e.value.toString()));
    case "float":
      return n.float(Number(e.value));
    case "string":
      return n.concat(e.parts.map((p) => (typeof p === "string" ? `${p}` : rebuild(p))));
    case "path":
      return n.path(`${e.value}`);
    case "var":
      return n.v(`${e.name}`);
    case "list":
      return n.list(e.items.map(rebuild));
    case "attrs":
      return e.rec ? n.rec(bindings(e.bindings)) : n.attrs(bindings(e.bindings));
    case "let":
      return n.let_(bindings(e.bindings), rebuild(e.body));
    case "with":
      return n.with_(rebuild(e.scope), rebuild(e.body));
    case "assert":
      return n.assert_(rebuild(e.cond), rebuild(e.body));
    case "if":
      return n.if_(rebuild(e.cond), rebuild(e.then), rebuild(e.else));
    case "lambda": {
      const p = e.param;
      if (p.kind === "ident") return n.lambda(`${p.name}`, rebuild(e.body));
      return n.lambda(
        {
          formals: p.formals.map((f) =>
            f.default === undefined ? f.name : ([f.name, rebuild(f.default)] as const),
          ),
          ellipsis: p.ellipsis,
          ...(p.bind === undefined
            ? {}
            : { bind: p.bind.name, bindBefore: p.bind.position === "before" }),
        },
        rebuild(e.body),
      );
    }
    case "apply":
      return n.call(rebuild(e.fn), ...e.args.map(rebuild));
    case "select":
      return e.or === undefined
        ? n.select(rebuild(e.base), ...e.path.map(key))
        : n.selectOr(rebuild(e.base), e.path.map(key), rebuild(e.or));
    case "has":
      return n.has(rebuild(e.base), ...e.path.map(key));
    case "unary":
      return e.op === "-" ? n.neg(rebuild(e.operand)) : n.not(rebuild(e.operand));
    case "binary":
      return n.op(rebuild(e.left), e.op, rebuild(e.right));
    case "raw":
      return n.rawUnchecked(`${e.text}`);
  }
}

/**
 * A fixed-size batch whose fast-check rendering is a one-line summary: the property's own error
 * names the failing element, so the counterexample need not print a hundred trees.
 */
export function batch<T>(arb: fc.Arbitrary<T>, size: number): fc.Arbitrary<T[]> {
  return fc.array(arb, { minLength: size, maxLength: size }).map((xs) =>
    Object.defineProperty(xs, fc.toStringMethod, {
      value: () => `[batch of ${xs.length}: the failing element is in the error below]`,
    }),
  );
}

/**
 * Text that tests how wide the printer thinks a string is: characters outside the Basic
 * Multilingual Plane (two UTF-16 units, one code point), wide CJK, combining marks, CR, tabs,
 * and every character that needs an escape; in runs long enough to land near the width limit.
 */
const widthUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "b", "-", " ", "xyz", "0123456789") },
  { weight: 3, arbitrary: fc.constantFrom("🎉", "\u{10ffff}", "\u{1F600}", "𝕏", "\u{20000}") },
  { weight: 2, arbitrary: fc.constantFrom("中", "文字", "ｗ", "한") },
  { weight: 2, arbitrary: fc.constantFrom("e\u0301", "\u0301", "a\u20dd", "\u200d") },
  {
    weight: 3,
    arbitrary: fc.constantFrom("\r", "\t", "\n", "\r\n", '"', "\\", "${", "$", "''", "'${", "$${"),
  },
);
export const widthString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.string({ unit: widthUnit, maxLength });

/**
 * Expressions for the nixfmt fixed-point property: the general ones, and shapes whose layout
 * turns on a string's width (lists, calls, sets, interpolations, asserts holding such strings).
 */
export function nixfmtExprArbitrary(): fc.Arbitrary<NixExpr> {
  const general = exprArbitrary(4);
  const s = widthString(40).map((x) => n.str(x));
  const interp = fc
    .array(fc.oneof(widthString(20), general, s), { minLength: 1, maxLength: 4 })
    .map((ps) => n.concat(ps));
  const leaf = fc.oneof(s, interp, general, fc.constant(n.list([])), fc.constant(n.attrs({})));
  const named = fc
    .uniqueArray(fc.tuple(fc.oneof(widthString(12), staticName), leaf), {
      selector: (t) => t[0],
      maxLength: 4,
    })
    .map((bs) => n.attrs(bs.map(([k, v]) => n.bind(k, v))));
  return fc.oneof(
    { weight: 3, arbitrary: general },
    { weight: 2, arbitrary: fc.array(leaf, { maxLength: 4 }).map((xs) => n.list(xs)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(variable, fc.array(fc.oneof(leaf, named), { minLength: 1, maxLength: 3 }))
        .map(([f, as]) => n.call(n.v(f), ...as)),
    },
    { weight: 2, arbitrary: named },
    { weight: 1, arbitrary: fc.tuple(interp, leaf).map(([c, b]) => n.assert_(c, b)) },
    { weight: 1, arbitrary: interp },
  );
}
