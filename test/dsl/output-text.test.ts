/**
 * The printer keeps its buffers from one print to the next. Its last step turns the output
 * pieces into one string two ways: through a byte buffer when every character is Latin-1, by
 * joining otherwise; both must give the same text, whichever character decides it and wherever
 * it is. A print that fails part-way must leave nothing behind for the next.
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

  it("a print that fails part-way (bindings are checked as they are laid out) leaves the next one unaffected", () => {
    // The first duplicate is found after the first binding is laid out; the second inside an
    // interpolation, while that part of the document is held back raw.
    expect(() =>
      n.printFile({ body: n.attrs([n.bind("a", { b: n.lib.f([1, { c: 1 }]) }), n.bind("a", 2)]) }),
    ).toThrow("attribute a is defined twice");
    expect(() =>
      n.printFile({
        body: n.attrs({
          x: n.nix`a ${n.call(n.v("f"), n.attrs([n.bind("a", 1), n.bind("a", 2)]))} b`,
        }),
      }),
    ).toThrow("attribute a is defined twice");
    expect(n.printFile({ body: n.attrs({ ok: [1, 2], s: n.nix`a ${n.pkgs.hello} b` }) })).toBe(
      '{\n  ok = [\n    1\n    2\n  ];\n  s = "a ${pkgs.hello} b";\n}\n',
    );
  });

  it("a print after a non-Latin-1 one is unaffected by it", () => {
    expect(file(3, 1, "€")).toBe(expected(3, 1, "€"));
    expect(file(2, 0, "é")).toBe(expected(2, 0, "é"));
    expect(n.printExpr("x")).toBe('"x"');
  });
});
