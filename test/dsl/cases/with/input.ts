import * as n from "../../../../dsl/index.ts";

// `with`: absorbed after `=` when its body is a list or set; otherwise on one line when it
// fits, or `with x;` and the body on the next line.
const pkgs = n.pkgs;
export default {
  body: n.attrs([
    n.bind("packages", n.with_(pkgs, [n.v("git"), n.v("vim"), n.v("curl")])),
    n.bind("singlePackage", n.with_(pkgs, [n.v("git")])),
    n.bind("short", n.with_(n.builtins, n.call(n.v("length"), n.v("xs")))),
    n.bind("set", n.with_(n.lib, { a: n.v("mkDefault"), b: 2 })),
    n.bind("nested", n.with_(n.v("a"), n.with_(n.v("b"), n.v("c")))),
    n.bind(
      "long",
      n.with_(
        n.lib,
        n.call(
          n.v("concatStringsSep"),
          " ",
          n.call(
            n.v("mapAttrsToList"),
            n.v("formatSettingAsACommandLineFlagForTheDaemon"),
            n.v("settings"),
          ),
        ),
      ),
    ),
    n.bind("inList", [n.with_(n.v("a"), n.v("b"))]),
  ]),
};
