/**
 * The printer's last step turns its output pieces into one string two ways: through a byte
 * buffer when every character is Latin-1, by joining otherwise. Both must give the same text,
 * whichever character decides it and wherever it is.
 */
import { describe, expect, it } from "vitest";
import * as n from "../../dsl/index.ts";

/** `{ k0 = "v0"; … }` with `special` in the value of binding `at` (of `count`). */
function file(count: number, at: number, special: string): string {
  const bindings = Array.from({ length: count }, (_, i) =>
    n.bind(`k${i}`, i === at ? `v${i}${special}` : `v${i}`),
  );
  return n.printFile({ body: n.attrs(bindings) });
}

function expected(count: number, at: number, special: string): string {
  const lines = Array.from(
    { length: count },
    (_, i) => `  k${i} = "v${i}${i === at ? special : ""}";`,
  );
  return `{\n${lines.join("\n")}\n}\n`;
}

describe("output text", () => {
  const specials = {
    ascii: "plain",
    "Latin-1 (é, ü, U+0080, U+00FF)": "é ü \u0080 \u00ff",
    "above Latin-1 (U+0100, €, CJK)": "\u0100 € 漢字",
    "outside the BMP": "😀 𝄞",
  };
  for (const [name, special] of Object.entries(specials)) {
    for (const at of [0, 500, 999]) {
      it(`${name} in binding ${at} of 1,000`, () => {
        expect(file(1000, at, special)).toBe(expected(1000, at, special));
      });
    }
  }

  it("a print after a non-Latin-1 one is unaffected by it", () => {
    expect(file(3, 1, "€")).toBe(expected(3, 1, "€"));
    expect(file(2, 0, "é")).toBe(expected(2, 0, "é"));
    expect(n.printExpr("x")).toBe('"x"');
  });
});
