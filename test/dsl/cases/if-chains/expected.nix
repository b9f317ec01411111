{
  short = if x == 1 then "one" else "other";
  chain =
    if x == 1 then
      "one"
    else if x == 2 then
      "two"
    else if x == 3 then
      "three"
    else
      "many";
  longCondition =
    if
      builtins.elem x [
        "alpha"
        "beta"
        "gamma"
      ]
      && builtins.stringLength x > 3
      || builtins.pathExists ./some/rather/long/path/to/a/file.nix
    then
      "yes"
    else
      "no";
  setBranches =
    if x == 1 then
      { a = 1; }
    else
      {
        b = 2;
        c = 3;
      };
  inList = [ (if x then 1 else 2) ];
}
