import * as n from "../../../../dsl/index.ts";

// From nixfmt's test/diff/if_else/out-pure.nix (`nixfmt --strict -w 80`): the items without
// comments or redundant parentheses, in order.
const [a, b, c] = ["a", "b", "c"].map(n.v) as [n.NixExpr, n.NixExpr, n.NixExpr];
export default {
  body: n.list([
    n.if_(true, { version: "1.2.3" }, { version: "3.2.1" }),
    n.if_(true, "some text\n", "other text\n"),
    n.if_(n.path("./a"), b, c),
    n.if_(a, b, c),
    n.if_(n.if_(a, b, c), b, n.if_(a, b, n.if_(a, b, c))),
  ]),
};
