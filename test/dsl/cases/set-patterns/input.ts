import * as n from "../../../../dsl/index.ts";

// Set patterns: one line with at most two formals and no defaults, else one per line with a
// trailing comma; `@` before or after.
const body = n.v("x");
export default {
  body: n.attrs([
    n.bind("none", n.lambda({ formals: [] }, body)),
    n.bind("onlyDots", n.lambda({ formals: [], ellipsis: true }, body)),
    n.bind("one", n.lambda({ formals: ["x"] }, body)),
    n.bind("two", n.lambda({ formals: ["x", "y"], ellipsis: true }, body)),
    n.bind("three", n.lambda({ formals: ["x", "y", "z"] }, body)),
    n.bind("withDefault", n.lambda({ formals: [["x", 1]] }, body)),
    n.bind(
      "defaults",
      n.lambda({ formals: ["x", ["y", "default"], ["z", { a: 1 }]], ellipsis: true }, body),
    ),
    n.bind("atAfter", n.lambda({ formals: ["x"], bind: "args" }, body)),
    n.bind(
      "atBefore",
      n.lambda({ formals: ["x"], ellipsis: true, bind: "args", bindBefore: true }, body),
    ),
    n.bind("curried", n.lambda({ formals: ["x"] }, n.lambda("y", n.lambda("z", body)))),
    n.bind("setBody", n.lambda({ formals: ["x", "y"] }, { a: body })),
  ]),
};
