import * as n from "../../../../dsl/index.ts";

// Calls that do not fit and cannot absorb their last argument: as many arguments on the first
// line as fit, then one argument per line, indented; two list arguments at the end each go on
// their own line.
const lib = n.lib;
export default {
  body: n.attrs([
    n.bind("short", lib.optionalString(true, "x")),
    n.bind(
      "lastArgOnItsOwnLine",
      n.call(
        n.v("someFunctionWithAVeryLongName"),
        n.v("firstArgumentName"),
        n.v("secondArgumentName"),
        n.v("thirdArgumentName"),
        n.v("fourthArgumentName"),
      ),
    ),
    n.bind(
      "onePerLine",
      n.call(
        n.v("someFunction"),
        n.v("firstArgumentThatIsRatherLongToo"),
        n.v("secondArgumentThatIsRatherLongToo"),
        n.v("thirdArgumentThatIsRatherLongToo"),
        n.v("fourthArgumentThatIsRatherLongToo"),
        n.v("fifth"),
      ),
    ),
    n.bind(
      "twoLists",
      n.call(
        n.v("zipLists"),
        ["a", "b", "c"],
        ["one", "two", "three", "four", "five", "six", "seven", "eight"],
      ),
    ),
    n.bind(
      "longString",
      n.call(
        lib.assertMsg,
        n.not(n.v("enable")),
        "this message is long enough that it cannot stay on the line of the call, so it goes on a line of its own",
      ),
    ),
  ]),
};
