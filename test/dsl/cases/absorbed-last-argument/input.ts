import * as n from "../../../../dsl/index.ts";

// The last argument of a call that does not fit is absorbed when it can be (a set, a list, a
// multi-line string, `(x: { … })`, `(f { … })`, any other parenthesised expression): the call
// head stays on the binding's line and only the argument expands.
const lib = n.lib;
const pkgs = n.pkgs;
export default {
  body: n.attrs([
    n.bind("absorbSet", pkgs.writeShellApplication({ name: "hello", text: "echo hello" })),
    n.bind(
      "absorbList",
      lib.concatStringsSep(" ", [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
      ]),
    ),
    n.bind("absorbShortList", lib.concatStringsSep(" ", ["a", "b"])),
    n.bind(
      "notNeeded",
      lib.mapAttrs(n.lambda("name", n.lambda("value", { enable: true })), n.v("cfg")),
    ),
    n.bind(
      "absorbLambda",
      n.call(
        n.v("overrideAttrs"),
        n.lambda("old", { patches: [n.path("./fix.patch")], doCheck: false }),
      ),
    ),
    n.bind("absorbString", pkgs.writeShellScript("run", "#!/bin/sh\necho one\necho two\n")),
    n.bind(
      "absorbParenCall",
      n.call(n.v("mkShell"), n.call(n.v("withPackages"), { python: true, node: true })),
    ),
    n.bind(
      "absorbParen",
      lib.mkIf(n.select(n.v("cfg"), "enable"), lib.mkMerge([{ a: 1 }, { b: 2 }])),
    ),
    n.bind(
      "middleArgument",
      lib.concatStringsSep(
        " ",
        ["--first-option-value", "--second-option-value", "--third-option-value"],
        n.v("anotherArgument"),
      ),
    ),
  ]),
};
