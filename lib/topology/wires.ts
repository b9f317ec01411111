/** Orthogonal wires: out of one box's side, along a vertical track, into another box's side. */

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * The wire from `start` to `end` that turns only at `trackX`: across to the track, along it, and
 * across to the end; a straight line when both ends are level.
 */
export function orthogonalWire(start: Point, trackX: number, end: Point): Point[] {
  if (start.y === end.y) return [start, end];
  return [start, { x: trackX, y: start.y }, { x: trackX, y: end.y }, end];
}
