{
  k = "${((./a // a).a').x-y
    or ((with ./. + "/a/b"; -3.3288662131177532e+140) [
      ""
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    ] 999999999999999)
  }";
}
