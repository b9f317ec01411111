import * as n from "../../../../dsl/index.ts";

// Expected output: what nixfmt 1.4.0 --strict gave. An empty list as an argument that is not the
// last one (where a short list of simple items may go on one line or expand) is always `[ ]`:
// when the call does not fit, it is not the part that expands.
const x = (k: number): n.NixExpr => n.v("x".repeat(k));
export default {
  body: n.attrs({
    afterParen: n.call(n.v("a"), n.neg(n.op(x(80), "+", n.v("y"))), n.list([]), n.attrs({})),
    afterLong: n.call(n.v("b"), x(80), n.list([]), n.attrs({})),
    twoLists: n.call(n.v("g"), x(80), n.list([]), n.list([]), n.v("z")),
    shortList: n.call(n.v("c"), n.neg(n.op(x(80), "+", n.v("y"))), n.list([1]), n.attrs({})),
  }),
};
