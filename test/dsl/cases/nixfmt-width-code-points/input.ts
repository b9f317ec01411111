import * as n from "../../../../dsl/index.ts";

// nixfmt counts a line's width in code points: a character outside the Basic Multilingual Plane
// is one column (not two UTF-16 units), and so are a wide CJK character and a combining mark.
// Each `name = a + "…";` line below is exactly 100 columns by that count past its indentation
// (which the limit does not count), so it stays on one line; the `Over` ones would be 101, so
// they break.
const codePoints = (s: string): number => [...s].length;
function atWidth(name: string, unit: string, width: number): n.NixBinding {
  // `name = a + "…";`: the name, ` = a + "`, the body, `";`.
  const target = width - codePoints(name) - 8 - 2;
  let body = "";
  while (codePoints(body) + codePoints(unit) <= target) body += unit;
  while (codePoints(body) < target) body += "a";
  return n.bind(name, n.op(n.v("a"), "+", body));
}
export default {
  body: n.attrs([
    atWidth("emoji", "🎉", 100),
    atWidth("astral", "\u{20000}", 100),
    atWidth("cjk", "中", 100),
    atWidth("combining", "e\u0301", 100),
    atWidth("emojiOver", "🎉", 101),
    atWidth("cjkOver", "中", 101),
  ]),
};
