/**
 * Size limits of the printer. A set or list with more items than a JavaScript call can take as
 * spread arguments (about 65,000 docs) used to overflow the stack; the benchmark's 100,000-binding
 * set found it (bench/dsl-print.ts).
 */
import { describe, expect, it } from "vitest";
import * as n from "../../dsl/index.ts";

describe("large inputs", () => {
  it("a list of 70,000 items prints", () => {
    const text = n.printExpr(Array.from({ length: 70_000 }, (_, i) => i));
    expect(text.split("\n")).toHaveLength(70_002);
  });

  it("a string line with 100,000 interpolations prints", () => {
    const parts: n.NixValue[] = [];
    for (let i = 0; i < 100_000; i++) parts.push("a", n.v("x"));
    expect(n.printExpr(n.concat(parts)).length).toBeGreaterThan(100_000 * 5);
  });
});
