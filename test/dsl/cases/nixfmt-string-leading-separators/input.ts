import * as n from "../../../../dsl/index.ts";

// Expected output: what nixfmt 1.4.0 --strict gave. A string line whose leading text starts
// with a character JavaScript's `\s` matches but Haskell's `isSpace` does not (U+2028, U+2029,
// U+FEFF): nixfmt gives the interpolation after it no offset. An ideographic space (U+3000) is
// white space to both: one column. A tab is printed escaped (`\t`), which is not white space.
const long = n.call(
  n.v("f"),
  n.select(n.path("./a"), "b".repeat(40)),
  n.list([1, n.v("c".repeat(50))]),
);
const line = (lead: string): n.NixExpr => n.concat([lead, long, " tail"]);
export default {
  body: n.attrs({
    lineSeparator: line("\u2028"),
    paragraphSeparator: line("\u2029x"),
    byteOrderMark: line("\ufeff"),
    tab: line("\t"),
    ideographicSpace: line("\u3000"),
    selector: n.call(n.v("g"), n.select(n.v("x"), n.concat(["\u2028", long]))),
  }),
};
