import * as n from "../../../../dsl/index.ts";

// Found by the nixfmt property test. The expected output is what nixfmt 1.4.0 `--strict` prints
// for this expression written on one line. nixfmt is not idempotent here: given that output,
// it keeps the list on several lines because its brackets are on different lines (its
// `renderList` rule survives --strict), so `or` fits on the first line, and it prints that
// instead (stable from then on). The printer gives nixfmt's first answer.
const base = n.select(n.op(n.path("./a"), "//", n.v("a")), "a'");
const fn = n.with_(n.op(n.path("./."), "+", "/a/b"), -3.3288662131177532e140);
const call = n.call(fn, n.list(["", "x".repeat(30)]), 999999999999999n);
export default {
  body: n.attrs({ k: n.concat([n.selectOr(base, ["x-y"], call)]) }),
};
