import * as n from "../../../../dsl/index.ts";

// From nixfmt's test/diff/lambda/out-pure.nix (`nixfmt --strict -w 80`): the items without
// comments, blank lines in patterns or redundant parentheses, in order; of the duplicate
// bindings `c`, `d`, `e` only the first of each.
const v = n.v;
const lam = n.lambda;
const fs = (...formals: string[]) => ({ formals });
const name = v("name");
const daemonFlags = n.nix`--nodaemon --syslog --prefix=${name} --pidfile /run/${name}/${name}.pid ${name}\n`;
export default {
  body: n.let_(
    [n.inherit(["lib"])],
    n.list([
      lam(fs(), null),
      lam(fs(), null),
      lam(fs("lib"), n.let_({ foo: 1 }, v("foo"))),
      lam("a".repeat(37), v("a".repeat(36))),
      lam("a".repeat(38), v("a".repeat(38))),
      lam({ formals: [["pkgs", n.call(v("import"), n.path("./.."), {})], "locationsXml"] }, null),
      lam("a", lam("b", lam("c", lam(fs(), lam("a", lam("b", lam("c", v("a")))))))),
      lam({ formals: ["pkgs"], ellipsis: true }, n.let_([], v("pkgs"))),
      n.attrs({
        a: lam("name", n.with_(n.select(v("config"), "ids"), daemonFlags)),
        "a'": lam("name", daemonFlags),
        b: lam("p", n.with_(v("p"), [v("ConfigIniFiles"), v("FileSlurp")])),
        "b'": lam("p", [v("ConfigIniFiles"), v("FileSlurp")]),
        mkUrls: lam(fs("name", "version", "biocVersion"), [
          n.nix`mirror://bioc/${v("biocVersion")}/data/experiment/${name}_${v("version")}.tar.gz`,
        ]),
        c: lam({ formals: [], ellipsis: true }, { foo: true }),
        d: lam(fs("a"), { foo: true }),
        e: lam(fs("a", "b"), { foo: true }),
      }),
      lam(fs("bar"), { baz: "foobar" }),
      lam(fs("bar"), [1, 2, 3]),
      lam(fs("x", "y", "z"), { x: n.op(v("y"), "+", v("z")) }),
      lam(fs("x"), lam(fs("y"), { z: n.op(v("x"), "+", v("y")) })),
      lam(fs("x", "y"), { z: n.op(v("x"), "+", v("y")) }),
      lam(fs("a", "b"), { a: 1, b: 2 }),
      lam(fs(), { a: 1, b: 2 }),
      lam({ formals: [["a", 1]] }, { x: 1 }),
      lam({ formals: ["b"], bind: "a", bindBefore: true }, { x: 1 }),
      lam({ formals: ["b"], bind: "a" }, { x: 1 }),
    ]),
  ),
};
