import * as n from "../../../../dsl/index.ts";

// From nixfmt's test/diff/with/out-pure.nix (`nixfmt --strict -w 80`): the items without
// comments or redundant parentheses, in order. Two duplicate names `things` renamed `thing`
// (the DSL refuses duplicates; the lines are far below the width).
const [a, b, c] = ["a", "b", "c"].map(n.v) as [n.NixExpr, n.NixExpr, n.NixExpr];
const one23 = n.list([1, 2, 3]);
const ifNull = (s: n.NixValue) => n.if_(n.v("null"), true, s);
const long = "looooooooooooooooooooooooooooooooooooong";
export default {
  body: n.list([
    n.with_(b, c),
    n.with_(b, n.v("c".repeat(66))),
    n.with_(b, n.v("c".repeat(68))),
    n.attrs({ a: n.with_(b, 1) }),
    n.attrs({ a: n.with_(b, n.op(1, "+", 1)) }),
    n.attrs({ a: n.with_(b, { c: 1 }) }),
    n.attrs({ a: n.with_(b, { c: 1, d: 2, e: 3 }) }),
    n.with_(a, [1]),
    n.with_(a, one23),
    n.with_(a, n.with_(b, n.with_(c, [1]))),
    n.with_(a, n.with_(b, n.with_(c, { a: 1 }))),
    n.with_(a, n.with_(b, n.with_(c, { a: 1, b: 2 }))),
    n.attrs({ a: n.with_(b, n.with_(b, n.with_(b, 1))) }),
    n.with_(a, {}),
    n.with_(a, one23),
    n.with_(a, ifNull(false)),
    n.with_(a, n.let_([], one23)),
    n.lambda(
      {
        formals: [
          [
            "gst_plugins",
            n.with_(n.v("gst_all_1"), [n.v("gst-plugins-good"), n.v("gst-plugins-ugly")]),
          ],
          ["more", n.with_(n.v("stuff"), n.let_([], one23))],
          ["thing", n.with_(a, ifNull(false))],
          ["things", n.with_(a, ifNull(long))],
        ],
      },
      {},
    ),
    n.attrs({
      more: n.with_(n.v("stuff"), n.let_([], one23)),
      thing: n.with_(a, ifNull(false)),
      things: n.with_(a, ifNull(long)),
    }),
  ]),
};
