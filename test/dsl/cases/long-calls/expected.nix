{
  short = lib.optionalString true "x";
  lastArgOnItsOwnLine =
    someFunctionWithAVeryLongName firstArgumentName secondArgumentName thirdArgumentName
      fourthArgumentName;
  onePerLine =
    someFunction firstArgumentThatIsRatherLongToo secondArgumentThatIsRatherLongToo
      thirdArgumentThatIsRatherLongToo
      fourthArgumentThatIsRatherLongToo
      fifth;
  twoLists =
    zipLists
      [ "a" "b" "c" ]
      [
        "one"
        "two"
        "three"
        "four"
        "five"
        "six"
        "seven"
        "eight"
      ];
  longString =
    lib.assertMsg (!enable)
      "this message is long enough that it cannot stay on the line of the call, so it goes on a line of its own";
}
