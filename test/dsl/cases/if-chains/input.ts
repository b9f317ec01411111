import * as n from "../../../../dsl/index.ts";

// `if` on one line when short; else `then`/`else` bodies indented, `else if` chained flat,
// and a long condition on its own line.
const x = n.v("x");
const eq = (v: number) => n.op(x, "==", v);
export default {
  body: n.attrs([
    n.bind("short", n.if_(eq(1), "one", "other")),
    n.bind("chain", n.if_(eq(1), "one", n.if_(eq(2), "two", n.if_(eq(3), "three", "many")))),
    n.bind(
      "longCondition",
      n.if_(
        n.op(
          n.op(
            n.builtins.elem(x, ["alpha", "beta", "gamma"]),
            "&&",
            n.op(n.builtins.stringLength(x), ">", 3),
          ),
          "||",
          n.builtins.pathExists(n.path("./some/rather/long/path/to/a/file.nix")),
        ),
        "yes",
        "no",
      ),
    ),
    n.bind("setBranches", n.if_(eq(1), { a: 1 }, { b: 2, c: 3 })),
    n.bind("inList", [n.if_(x, 1, 2)]),
  ]),
};
