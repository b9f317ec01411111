import * as n from "../../../../dsl/index.ts";

// Attribute names: identifiers stay bare; keywords (`or` too), names that are not identifiers,
// the empty name and names with `.`, spaces or `${` are quoted with full string escaping.
const s = n.v("s");
export default {
  body: n.attrs([
    n.bind("plain", 1),
    n.bind("with-dash", 2),
    n.bind("prime'", 3),
    n.bind("_under", 4),
    n.bind("x86_64-linux", 5),
    n.bind("true", 6),
    n.bind("null", 7),
    n.bind("import", 8),
    n.bind("or", 9),
    n.bind("if", 10),
    n.bind("inherit", 11),
    n.bind("9p", 12),
    n.bind("", 13),
    n.bind("a.b", 14),
    n.bind("with space", 15),
    n.bind("${x}", 16),
    n.bind("$${x}", 17),
    n.bind('quote"backslash\\', 18),
    n.bind("tab\tnewline\n", 19),
    n.bind("-leading-dash", 20),
    n.bind("é", 21),
    n.bind(["networking", "interfaces", "eth0.1", "useDHCP"], true),
    n.bind("select", n.select(s, "or", "9p", "a b", "ok")),
    n.bind("has", n.has(s, "if", "x")),
    n.bind("default", n.selectOr(s, ["in"], null)),
  ]),
};
