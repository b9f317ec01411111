/**
 * The number of columns a piece of printed text takes, as nixfmt counts them: code points
 * (Haskell's `Text.length`). A character outside the Basic Multilingual Plane is one column,
 * not its two UTF-16 units; a wide CJK character and a combining mark are one column each too,
 * since nixfmt does not look at display width.
 */
export function textWidth(t: string): number {
  let w = t.length;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < t.length) {
      const d = t.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        w--;
        i++;
      }
    }
  }
  return w;
}
