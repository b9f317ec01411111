import * as n from "../../../../dsl/index.ts";

// A one-item list holding a string with a carriage return stays `[ "…" ]` (the `\r` is an
// escape, not a line break); an empty list as a call's last argument is `[ ]`.
export default {
  body: n.attrs({
    cr: ["a\rb"],
    crlf: ["line\r\n"],
    emptyLast: n.call(n.v("f"), n.v("x"), n.list([])),
    emptyLastLong: n.call(
      n.v("someFunction"),
      "a long argument that takes up most of the line, so that the call is near",
      n.list([]),
    ),
  }),
};
