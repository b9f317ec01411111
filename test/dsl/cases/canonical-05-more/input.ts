import * as n from "../../../../dsl/index.ts";

const names = n.v("names");
const guests = n.v("guests");
const lib = n.lib;

export default {
  body: n.module(
    ["lib", "pkgs"],
    n.let_(
      [
        n.bind("guests", { alice: { memory: "1G" } }, { comment: "A comment before a binding." }),
        n.bind("single", { only: 1 }),
        n.bind(["nested", "deep", "path"], "x"),
        n.bind(
          "names",
          lib.mapAttrsToList(
            n.lambda(
              "name",
              n.lambda("guest", n.nix`${n.v("name")}:${n.select(n.v("guest"), "memory")}`),
            ),
            guests,
          ),
        ),
        n.bind(
          "services",
          n.call(
            n.select(lib, "mapAttrs'"),
            n.lambda(
              "name",
              n.lambda(
                "guest",
                lib.nameValuePair(n.nix`qemu-guest-${n.v("name")}`, {
                  wantedBy: ["multi-user.target"],
                  script: "exec true",
                }),
              ),
            ),
            guests,
          ),
        ),
        n.bind("listOfSets", [{ a: 1 }, { b: 2, c: 3 }]),
        n.bind("call", n.pkgs.writeShellApplication({ name: "x", text: "echo hi" })),
        n.bind("twoArgs", n.builtins.elem("x", ["x", "y"])),
        n.bind(
          "longCondition",
          n.if_(
            n.op(
              n.op(
                n.op(n.builtins.length(names), ">", 0),
                "&&",
                n.builtins.all(
                  n.lambda("n", n.op(n.builtins.stringLength(n.v("n")), "<", 100)),
                  names,
                ),
              ),
              "&&",
              lib.versionAtLeast(lib.version, "25.05"),
            ),
            "ok",
            "no",
          ),
        ),
        n.bind("stringWithTrailing", "line one  \nline two\n"),
        n.bind("leading", "  both lines\n  start with spaces\n"),
        n.bind("noNewlineAtEnd", "first\nlast"),
        n.bind(
          "selectParen",
          n.select(
            n.call(n.v("import"), n.path("./x.nix"), n.attrs([n.inherit(["lib"])])),
            "value",
          ),
        ),
        n.bind("neg", n.neg(n.builtins.length(names))),
        n.bind("emptyString", ""),
        n.bind("oneElement", ["only"]),
        n.bind("fn", n.lambda({ formals: ["pkgs"] }, n.pkgs.hello)),
        n.bind("fn2", n.lambda({ formals: ["pkgs", "lib"] }, n.pkgs.hello)),
        n.bind(
          "fn4",
          n.lambda({ formals: ["pkgs", "lib", "config"], ellipsis: true }, n.pkgs.hello),
        ),
      ],
      n.attrs([
        n.inherit([
          "guests",
          "single",
          "nested",
          "names",
          "services",
          "listOfSets",
          "call",
          "twoArgs",
          "longCondition",
          "stringWithTrailing",
          "leading",
          "noNewlineAtEnd",
          "selectParen",
          "neg",
          "emptyString",
          "oneElement",
          "fn",
          "fn2",
          "fn4",
        ]),
      ]),
    ),
  ),
};
