/** The number of columns a piece of printed text takes, as the layout engine counts them. */
export function textWidth(t: string): number {
  return t.length;
}
