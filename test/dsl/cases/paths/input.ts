import * as n from "../../../../dsl/index.ts";

// Paths print as literals when Nix reads them back unchanged, else as `./. + "/…"`.
export default {
  body: n.list([
    n.path("./modules/host.nix"),
    n.path("../sibling"),
    n.path("/etc/hosts"),
    n.path("/"),
    n.path("./a-b+c_d.e"),
    n.path("./with space"),
    n.path("./trailing/"),
    n.path("relative/no-dot"),
    n.path("/abs/with space"),
    n.path("./a${b}"),
    n.call(n.v("import"), n.path("./with space.nix")),
    n.select(n.path("./set.nix"), "value"),
  ]),
};
