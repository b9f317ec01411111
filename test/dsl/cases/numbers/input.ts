import * as n from "../../../../dsl/index.ts";

// Floats always carry a `.` (`1e21` would be 1 applied to `e21`); negative numbers are
// parenthesised where Nix needs it: list items and function arguments.
const f = n.v("f");
export default {
  body: n.attrs([
    n.bind("half", 0.5),
    n.bind("one", n.float(1)),
    n.bind("big", 1e21),
    n.bind("small", 5e-7),
    n.bind("max", 1.7976931348623157e308),
    n.bind("subnormal", 5e-324),
    n.bind("pi", Math.PI),
    n.bind("negative", -1),
    n.bind("negativeFloat", -2.5),
    n.bind("int64Max", n.int(9223372036854775807n)),
    n.bind("int64Min", n.int(-9223372036854775808n)),
    n.bind("list", [1, -1, 0.5, -0.5, n.int(-9223372036854775808n)]),
    n.bind("args", n.call(f, -1, 2, -0.5)),
    n.bind("minus", n.op(n.v("a"), "-", -1)),
    n.bind("negCall", n.neg(n.call(f, 1))),
    n.bind("negSelect", n.neg(n.select(n.v("a"), "b"))),
  ]),
};
