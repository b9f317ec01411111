{ lib, ... }:
assert lib.assertMsg (x > 0) "x must be positive";
assert builtins.isInt x && x < 100;
{
  value = x;
}
