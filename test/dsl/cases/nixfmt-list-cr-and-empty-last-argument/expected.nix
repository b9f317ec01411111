{
  cr = [ "a\rb" ];
  crlf = [ "line\r\n" ];
  emptyLast = f x [ ];
  emptyLastLong =
    someFunction "a long argument that takes up most of the line, so that the call is near"
      [ ];
}
