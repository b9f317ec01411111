{
  simple = "quote \" backslash \\ tab\t cr\r";
  dollars = "\${x} $${x} $$\${x} $ {} $";
  dollarBeforeHole = "cost: \$${x} and $$${x}";
  indented = ''
    first line
      indented ''${not} '''quoted'''
    last
  '';
  indentedHoles = ''
    start ${x}
    ''$${x} '${x}'
  '';
  quoteAtEnd = ''
    line one
    ends with ''\''';
  quoteBeforeHole = ''
    a
    '${x}
  '';
  quoteDollarBrace = ''
    a
    ''\'''${b}'
  '';
  noFinalNewline = ''
    one
    two'';
  emptyLines = ''
    one


    four
  '';
  trailingSpaces = "trailing  \nspaces\n";
  whitespaceLine = "a\n   \nb\n";
  allIndented = "  a\n  b\n";
  tabs = "a\n\tb\n";
  carriageReturn = "a\r\nb\r\n";
  lastLineSpaces = "a\nb\n  ";
  unicode = ''
    é 中文 🎉
    zero​width
  '';
  interpolation = "${pkgs.hello}/bin/hello --greeting ${"hi"}";
}
