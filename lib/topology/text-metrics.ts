/**
 * How big the topology's text and boxes are. Text is measured as monospace (every character the
 * same advance), so sizes need no font at build time and are the same on every machine; the
 * drawing uses the same numbers.
 */
import type { TopologyBox } from "./graph.ts";

/** Text metrics the drawing uses too: sizes in px, a monospace advance of 0.61 em. */
export const TEXT = {
  size: 12,
  titleSize: 13,
  lineHeight: 16,
  advance: 0.61,
  padding: 8,
  /** Room above a host's boxes for its name and subtitle. */
  hostHeader: 44,
  /** Room above everything for the picture's title. */
  pageHeader: 36,
} as const;

/** The baseline of a box's line `i` (-1 is the title), from the box's top. */
export function baseline(i: number): number {
  return TEXT.padding + TEXT.titleSize - 1 + (i + 1) * TEXT.lineHeight;
}

/** Where a wire meets a box level with its line `i`, from the box's top: mid-height of the text. */
export function lineY(i: number): number {
  return baseline(i) - 4;
}

/** Width of a text in px at a font size. */
export function textWidth(text: string, size: number): number {
  // Characters are code points: a surrogate pair is one. Counted without an array per text.
  let n = text.length;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const prev = text.charCodeAt(i - 1);
    if (c >= 0xdc00 && c <= 0xdfff && prev >= 0xd800 && prev <= 0xdbff) n--;
  }
  return n * size * TEXT.advance;
}

/** A box's size: its widest line and padding, a line height per line and one for the title. */
export function boxSize(b: TopologyBox): { width: number; height: number } {
  if (b.kind === "lan") return { width: 120, height: 40 };
  const width = Math.max(
    textWidth(b.title, TEXT.titleSize),
    ...b.lines.map((l) => textWidth(l, TEXT.size)),
  );
  return {
    width: Math.ceil(width + 2 * TEXT.padding),
    height: (b.lines.length + 1) * TEXT.lineHeight + 2 * TEXT.padding,
  };
}
