[
  ((a + b) * c)
  (a + b * c)
  (a - b - c)
  (a - (b - c))
  ((a ++ b) ++ c)
  ((a // b) // c)
  ((a -> b) -> c)
  (a < b == c)
  ((a == b) == c)
  (!a && !(b || c))
  ((!a) + b)
  (!(a ? b))
  ((a // b) ? c)
  (-(f a))
  (f (-a) (!b) (a + b))
  (f a b)
  ((x: x) a)
  (f a).b
  a.b or (f c)
  (a.b or c).d
  ((if a then b else c) + 1)
  (
    1
    + (
      let
        y = 2;
      in
      y
    )
  )
  (f (with a; b))
]
