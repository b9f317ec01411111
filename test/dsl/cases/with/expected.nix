{
  packages = with pkgs; [
    git
    vim
    curl
  ];
  singlePackage = with pkgs; [ git ];
  short = with builtins; length xs;
  set = with lib; {
    a = mkDefault;
    b = 2;
  };
  nested = with a; with b; c;
  long =
    with lib;
    concatStringsSep " " (mapAttrsToList formatSettingAsACommandLineFlagForTheDaemon settings);
  inList = [ (with a; b) ];
}
