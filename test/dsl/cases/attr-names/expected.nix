{
  plain = 1;
  with-dash = 2;
  prime' = 3;
  _under = 4;
  x86_64-linux = 5;
  true = 6;
  null = 7;
  import = 8;
  "or" = 9;
  "if" = 10;
  "inherit" = 11;
  "9p" = 12;
  "" = 13;
  "a.b" = 14;
  "with space" = 15;
  "\${x}" = 16;
  "$${x}" = 17;
  "quote\"backslash\\" = 18;
  "tab\tnewline\n" = 19;
  "-leading-dash" = 20;
  "é" = 21;
  networking.interfaces."eth0.1".useDHCP = true;
  select = s."or"."9p"."a b".ok;
  has = s ? "if".x;
  default = s."in" or null;
}
