import * as n from "../../../../dsl/index.ts";

// `assert c;` then the body on the next line, never indented.
const lib = n.lib;
const x = n.v("x");
export default {
  body: n.module(
    ["lib"],
    n.assert_(
      lib.assertMsg(n.op(x, ">", 0), "x must be positive"),
      n.assert_(n.op(n.builtins.isInt(x), "&&", n.op(x, "<", 100)), { value: x }),
    ),
  ),
};
