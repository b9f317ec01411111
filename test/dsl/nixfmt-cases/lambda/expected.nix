let
  inherit lib;
in
[
  ({ }: null)
  ({ }: null)
  (
    { lib }:
    let
      foo = 1;
    in
    foo
  )
  (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)
  (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)
  (
    {
      pkgs ? import ./.. { },
      locationsXml,
    }:
    null
  )
  (
    a: b: c:
    { }:
    a: b: c:
    a
  )
  (
    { pkgs, ... }:
    let
    in
    pkgs
  )
  {
    a =
      name: with config.ids; ''
        --nodaemon --syslog --prefix=${name} --pidfile /run/${name}/${name}.pid ${name}
      '';
    a' = name: ''
      --nodaemon --syslog --prefix=${name} --pidfile /run/${name}/${name}.pid ${name}
    '';
    b =
      p: with p; [
        ConfigIniFiles
        FileSlurp
      ];
    b' = p: [
      ConfigIniFiles
      FileSlurp
    ];
    mkUrls =
      {
        name,
        version,
        biocVersion,
      }:
      [ "mirror://bioc/${biocVersion}/data/experiment/${name}_${version}.tar.gz" ];
    c = { ... }: { foo = true; };
    d = { a }: { foo = true; };
    e = { a, b }: { foo = true; };
  }
  ({ bar }: { baz = "foobar"; })
  ({ bar }: [
    1
    2
    3
  ])
  (
    {
      x,
      y,
      z,
    }:
    {
      x = y + z;
    }
  )
  ({ x }: { y }: { z = x + y; })
  ({ x, y }: { z = x + y; })
  ({ a, b }: {
    a = 1;
    b = 2;
  })
  ({ }: {
    a = 1;
    b = 2;
  })
  (
    {
      a ? 1,
    }:
    {
      x = 1;
    }
  )
  (
    a@{ b }:
    {
      x = 1;
    }
  )
  (
    { b }@a:
    {
      x = 1;
    }
  )
]
