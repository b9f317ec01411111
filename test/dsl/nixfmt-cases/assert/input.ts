import * as n from "../../../../dsl/index.ts";

// From nixfmt's test/diff/assert/out-pure.nix (`nixfmt --strict -w 80`): the items without
// comments, and from the long chain the asserts without redundant parentheses (each assert of
// a chain is laid out on its own).
const v = n.v;
const [b, e] = [v("b"), v("e")];
const hostPlatform = n.select(v("pkgs"), "stdenv", "hostPlatform");
export default {
  body: n.list([
    n.assert_(b, e),
    n.assert_(b, v("c".repeat(64))),
    n.assert_(b, v("c".repeat(66))),
    n.assert_(
      n.if_(true, 1, 0),
      n.assert_(
        n.call(
          n.select(v("lib"), "assertMsg"),
          n.not(v("enableGoldPlugin")),
          "Gold plugin cannot be enabled on LLVM16 due to a upstream issue: https://github.com/llvm/llvm-project/issues/61350",
        ),
        n.assert_(
          n.call(
            v("assertMsg"),
            n.op(
              v("originalValid"),
              "->",
              n.op(v("absConcatOrig"), "==", v("absConcatNormalised")),
            ),
            n.nix`For valid subpath "${v("str")}", appending to an absolute Nix path value gives "${v("absConcatOrig")}", but appending the normalised result "${n.select(v("tryOnce"), "value")}" gives a different value "${v("absConcatNormalised")}"`,
          ),
          n.assert_(
            n.call(
              n.select(v("lib"), "assertMsg"),
              n.op(v("strw"), "<=", v("width")),
              n.nix`fixedWidthString: requested string length (${n.call(v("toString"), v("width"))}) must not be shorter than actual length (${n.call(v("toString"), v("strw"))})`,
            ),
            n.assert_(
              n.op(
                n.call(
                  v("getErrors"),
                  n.attrs([
                    n.bind(["nixpkgs", "localSystem"], hostPlatform),
                    n.bind(["nixpkgs", "hostPlatform"], hostPlatform),
                    n.bind(["nixpkgs", "pkgs"], v("pkgs")),
                  ]),
                ),
                "==",
                [],
              ),
              [],
            ),
          ),
        ),
      ),
    ),
  ]),
};
