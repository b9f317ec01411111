import * as n from "../../../../dsl/index.ts";

// A selection from a list, as an operand after a line break: the list is a group of its own
// (as everywhere a term is printed), so the selectors that go to the next line are indented
// one step past the operator.
const long = n.v("b".repeat(105));
export default {
  body: n.attrs({
    a: n.op(long, "||", n.selectOr(n.list([]), ["_k", n.v("b")], n.v("f"))),
    c: n.op(long, "++", n.select(n.list([1, 2]), "x")),
  }),
};
