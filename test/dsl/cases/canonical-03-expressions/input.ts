import * as n from "../../../../dsl/index.ts";

const [a, b, c, d, h] = ["a", "b", "c", "d", "h"].map(n.v) as [
  n.NixExpr,
  n.NixExpr,
  n.NixExpr,
  n.NixExpr,
  n.NixExpr,
];
const x = n.v("x");
const range = (k: number) => Array.from({ length: k }, (_, i) => i + 1);

export default {
  body: n.let_(
    [
      n.bind("a", 1),
      n.bind("b", -2),
      n.bind("c", [1, -2, 3.5, 1e21]),
      n.bind("d", { or: 1, "9p": true, "with space": null, "x-y": "z" }),
      n.bind("e", 'quote " backslash \\ dollar ${x} $${y} tab\t'),
      n.bind(
        "f",
        n.nix`indented \${not} ''quote'' ends\nsecond line ${n.call(n.v("toString"), a)}\n`,
      ),
      n.bind("g", n.path("./modules/study.nix")),
      n.bind("h", n.lambda("a", n.lambda("b", n.op(a, "+", b)))),
      n.bind(
        "i",
        n.lambda(
          { formals: ["x", ["y", 2]], ellipsis: true, bind: "args" },
          n.op(x, "*", n.v("y")),
        ),
      ),
      n.bind("j", n.if_(n.op(a, "==", 1), "one", n.if_(n.op(a, "==", 2), "two", "many"))),
      n.bind("k", n.with_(n.builtins, n.call(n.v("length"), c))),
      n.bind("l", n.assert_(n.op(a, ">", 0), a)),
      n.bind("m", n.selectOr(d, ["x-y"], "none")),
      n.bind("n", n.has(d, "9p")),
      n.bind(
        "o",
        n.op(
          n.op(n.not(n.op(a, "==", 1)), "&&", n.op(n.op(b, "<", 0), "||", n.op(a, ">=", 3))),
          "->",
          true,
        ),
      ),
      n.bind("p", n.op([], "++", n.op(c, "++", [4]))),
      n.bind("q", n.op(d, "//", { extra: [] })),
      n.bind("r", n.builtins.map(n.lambda("x", n.op(x, "*", 2)), [1, 2, 3])),
      n.bind("s", {}),
      n.bind("t", n.builtins.concatStringsSep(", ", n.builtins.attrNames(d))),
      n.bind("u", n.op(n.call(h, 1, 2), "-", n.op(n.call(h, 3, 4), "/", 2))),
      n.bind("v", n.rec({ "self'": 1, other: n.v("self'") })),
      n.inherit(["length", "head", "tail", "attrNames"], { from: n.builtins }),
      n.bind(
        "w",
        n.call(
          n.select(n.builtins, "foldl'"),
          n.lambda("acc", n.lambda("x", n.op(n.v("acc"), "+", x))),
          0,
          range(30),
        ),
      ),
      n.bind(
        "veryLongFunctionCall",
        n.builtins.replaceStrings(
          ["alpha", "beta", "gamma"],
          ["one-replacement-value", "another-replacement-value", "third"],
          "alpha beta gamma delta",
        ),
      ),
    ],
    n.attrs([
      n.inherit(["a", "b", "c", "d", "e", "f", "g"]),
      n.inherit(["h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w"]),
    ]),
  ),
};
