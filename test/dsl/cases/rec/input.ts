import * as n from "../../../../dsl/index.ts";

// `rec { … }` like a set, with `rec ` in front; empty `rec { }`.
export default {
  body: n.let_(
    [
      n.bind(
        "versions",
        n.rec({ major: 1, minor: 2, full: n.nix`${n.v("major")}.${n.v("minor")}` }),
      ),
      n.bind("single", n.rec({ a: 1 })),
      n.bind("empty", n.rec({})),
    ],
    n.list([n.v("versions"), n.rec([n.bind("b", 1)])]),
  ),
};
