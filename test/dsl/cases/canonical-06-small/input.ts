import * as n from "../../../../dsl/index.ts";

const importModule = n.call(n.v("import"), n.path("./modules/study.nix"));

export default {
  body: n.attrs({
    module: n.module(["pkgs"], n.attrs([n.bind(["boot", "kernelModules"], ["tun"])])),
    flakeLike: {
      outputs: n.lambda(
        { formals: ["self", "nixpkgs"] },
        n.attrs([n.bind(["nixosModules", "study"], importModule)]),
      ),
    },
    twoBindingsInLambda: n.module(["pkgs"], { a: 1, b: 2 }),
    nestedSingle: { a: { b: { c: 1 } } },
    listOfOne: [{ name: "x" }],
    callWithSet: n.builtins.toJSON({ x: 1 }),
    shortIf: n.if_(true, 1, 2),
    shortLet: n.let_({ x: 1 }, n.v("x")),
  }),
};
