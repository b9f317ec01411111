[
  (
    assert b;
    e
  )
  (
    assert b;
    cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
  )
  (
    assert b;
    cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
  )
  (
    assert if true then 1 else 0;
    assert lib.assertMsg (!enableGoldPlugin)
      "Gold plugin cannot be enabled on LLVM16 due to a upstream issue: https://github.com/llvm/llvm-project/issues/61350";
    assert assertMsg (originalValid -> absConcatOrig == absConcatNormalised)
      "For valid subpath \"${str}\", appending to an absolute Nix path value gives \"${absConcatOrig}\", but appending the normalised result \"${tryOnce.value}\" gives a different value \"${absConcatNormalised}\"";
    assert lib.assertMsg (strw <= width)
      "fixedWidthString: requested string length (${toString width}) must not be shorter than actual length (${toString strw})";
    assert
      getErrors {
        nixpkgs.localSystem = pkgs.stdenv.hostPlatform;
        nixpkgs.hostPlatform = pkgs.stdenv.hostPlatform;
        nixpkgs.pkgs = pkgs;
      } == [ ];
    [ ]
  )
]
