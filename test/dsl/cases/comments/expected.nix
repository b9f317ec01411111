# Generated file: do not edit.
#
# Second paragraph.
let
  # The first value.
  a = 1;
  # Two
  # lines.
  inherit b;
in
{
  # On x.
  x = a;
  # A nested path
  #
  y.z = {
    deep = true;
  };
  #    keeps its spaces
  w = [
    1
    2
  ];
}
