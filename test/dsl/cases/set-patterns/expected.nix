{
  none = { }: x;
  onlyDots = { ... }: x;
  one = { x }: x;
  two = { x, y, ... }: x;
  three =
    {
      x,
      y,
      z,
    }:
    x;
  withDefault =
    {
      x ? 1,
    }:
    x;
  defaults =
    {
      x,
      y ? "default",
      z ? {
        a = 1;
      },
      ...
    }:
    x;
  atAfter = { x }@args: x;
  atBefore = args@{ x, ... }: x;
  curried = { x }: y: z: x;
  setBody = { x, y }: { a = x; };
}
