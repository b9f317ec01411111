import * as n from "../../../../dsl/index.ts";

// Comments at the top of the file and above bindings (`#` lines; an empty line is `#`).
export default {
  comment: ["Generated file: do not edit.", "", "Second paragraph."],
  body: n.let_(
    [
      n.bind("a", 1, { comment: "The first value." }),
      n.inherit(["b"], { comment: ["Two", "lines."] }),
    ],
    n.attrs([
      n.bind("x", n.v("a"), { comment: "On x." }),
      n.bind(["y", "z"], { deep: true }, { comment: ["A nested path", ""] }),
      n.bind("w", [1, 2], { comment: "   keeps its spaces" }),
    ]),
  ),
};
