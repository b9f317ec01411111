assert
  "${
    if x then
      [
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
      ]
    else
      [ ]
  } is the condition";
assert "short ${x}";
[ ]
