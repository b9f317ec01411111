let
  versions = rec {
    major = 1;
    minor = 2;
    full = "${major}.${minor}";
  };
  single = rec {
    a = 1;
  };
  empty = rec { };
in
[
  versions
  rec { b = 1; }
]
