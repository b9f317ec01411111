import * as n from "../../../../dsl/index.ts";

// `assert` is laid out as a call whose head is the keyword, which is no identifier: so the call
// is not "simple", and a condition that does not fit (here an interpolated string that breaks)
// goes to its own line, indented, as nixfmt puts it.
const x = n.v("x");
export default {
  body: n.assert_(
    n.concat([
      n.if_(
        x,
        n.list([
          n.v("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
          n.v("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        ]),
        n.list([]),
      ),
      " is the condition",
    ]),
    n.assert_(n.concat(["short ", x]), n.list([])),
  ),
};
