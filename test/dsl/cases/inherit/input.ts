import * as n from "../../../../dsl/index.ts";

// `inherit` stays on one line with fewer than 4 names, else one name per line.
export default {
  body: n.let_(
    [n.bind("a", 1), n.inherit(["b", "c"], { from: n.builtins })],
    n.attrs([
      n.inherit(["a"]),
      n.inherit(["b", "c", "or"]),
      n.inherit(["d", "e", "f", "g"]),
      n.inherit(["map", "filter"], { from: n.builtins }),
      n.inherit(["length", "head", "tail", "elem"], { from: n.builtins }),
      n.inherit(["x"], { from: n.select(n.v("pkgs"), "lib") }),
      n.inherit(["y"], { from: n.call(n.v("import"), n.path("./y.nix"), n.attrs({})) }),
      n.bind("single", n.attrs([n.inherit(["only"])])),
    ]),
  ),
};
