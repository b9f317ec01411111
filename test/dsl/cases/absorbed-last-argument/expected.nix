{
  absorbSet = pkgs.writeShellApplication {
    name = "hello";
    text = "echo hello";
  };
  absorbList = lib.concatStringsSep " " [
    "first"
    "second"
    "third"
    "fourth"
    "fifth"
    "sixth"
    "seventh"
  ];
  absorbShortList = lib.concatStringsSep " " [
    "a"
    "b"
  ];
  notNeeded = lib.mapAttrs (name: value: { enable = true; }) cfg;
  absorbLambda = overrideAttrs (old: {
    patches = [ ./fix.patch ];
    doCheck = false;
  });
  absorbString = pkgs.writeShellScript "run" ''
    #!/bin/sh
    echo one
    echo two
  '';
  absorbParenCall = mkShell (withPackages {
    python = true;
    node = true;
  });
  absorbParen = lib.mkIf cfg.enable (
    lib.mkMerge [
      { a = 1; }
      { b = 2; }
    ]
  );
  middleArgument = lib.concatStringsSep " " [
    "--first-option-value"
    "--second-option-value"
    "--third-option-value"
  ] anotherArgument;
}
