import * as n from "../../../../dsl/index.ts";

// Both string forms. Multi-line text becomes `''…''` only where Nix gives back exactly the
// same text; otherwise it falls back to `"…"` with escapes.
const x = n.v("x");
export default {
  body: n.attrs([
    n.bind("simple", 'quote " backslash \\ tab\t cr\r'),
    n.bind("dollars", "${x} $${x} $$${x} $ {} $"),
    n.bind("dollarBeforeHole", n.concat(["cost: $", x, " and $$", x])),
    n.bind("indented", "first line\n  indented ${not} ''quoted''\nlast\n"),
    n.bind("indentedHoles", n.concat(["start ", x, "\n$", x, " '", x, "'\n"])),
    n.bind("quoteAtEnd", "line one\nends with '"),
    n.bind("quoteBeforeHole", n.concat(["a\n'", x, "\n"])),
    n.bind("quoteDollarBrace", "a\n'${b}'\n"),
    n.bind("noFinalNewline", "one\ntwo"),
    n.bind("emptyLines", "one\n\n\nfour\n"),
    n.bind("trailingSpaces", "trailing  \nspaces\n"),
    n.bind("whitespaceLine", "a\n   \nb\n"),
    n.bind("allIndented", "  a\n  b\n"),
    n.bind("tabs", "a\n\tb\n"),
    n.bind("carriageReturn", "a\r\nb\r\n"),
    n.bind("lastLineSpaces", "a\nb\n  "),
    n.bind("unicode", "é 中文 🎉\nzero\u200bwidth\n"),
    n.bind("interpolation", n.nix`${n.pkgs.hello}/bin/hello --greeting ${n.str("hi")}`),
  ]),
};
