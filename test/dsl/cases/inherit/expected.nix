let
  a = 1;
  inherit (builtins) b c;
in
{
  inherit a;
  inherit b c "or";
  inherit
    d
    e
    f
    g
    ;
  inherit (builtins) map filter;
  inherit (builtins)
    length
    head
    tail
    elem
    ;
  inherit (pkgs.lib) x;
  inherit (import ./y.nix { }) y;
  single = { inherit only; };
}
