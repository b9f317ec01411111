import * as n from "../../../../dsl/index.ts";

// Parentheses exactly where precedence and associativity need them (and around `!` operands
// of tighter operators, for clarity).
const [a, b, c, f] = ["a", "b", "c", "f"].map(n.v) as [n.NixExpr, n.NixExpr, n.NixExpr, n.NixExpr];
export default {
  body: n.list([
    n.op(n.op(a, "+", b), "*", c),
    n.op(a, "+", n.op(b, "*", c)),
    n.op(n.op(a, "-", b), "-", c),
    n.op(a, "-", n.op(b, "-", c)),
    n.op(n.op(a, "++", b), "++", c),
    n.op(n.op(a, "//", b), "//", c),
    n.op(n.op(a, "->", b), "->", c),
    n.op(n.op(a, "<", b), "==", c),
    n.op(n.op(a, "==", b), "==", c),
    n.op(n.not(a), "&&", n.not(n.op(b, "||", c))),
    n.op(n.not(a), "+", b),
    n.not(n.has(a, "b")),
    n.has(n.op(a, "//", b), "c"),
    n.neg(n.call(f, a)),
    n.call(f, n.neg(a), n.not(b), n.op(a, "+", b)),
    n.call(n.call(f, a), b),
    n.call(n.lambda("x", n.v("x")), a),
    n.select(n.call(f, a), "b"),
    n.selectOr(a, ["b"], n.call(f, c)),
    n.select(n.selectOr(a, ["b"], c), "d"),
    n.op(n.if_(a, b, c), "+", 1),
    n.op(1, "+", n.let_({ y: 2 }, n.v("y"))),
    n.call(f, n.with_(a, b)),
  ]),
};
