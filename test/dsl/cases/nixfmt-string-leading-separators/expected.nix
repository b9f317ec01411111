{
  lineSeparator = " ${
    f (./a).bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb [
      1
      cccccccccccccccccccccccccccccccccccccccccccccccccc
    ]
  } tail";
  paragraphSeparator = " x${
    f (./a).bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb [
      1
      cccccccccccccccccccccccccccccccccccccccccccccccccc
    ]
  } tail";
  byteOrderMark = "﻿${
    f (./a).bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb [
      1
      cccccccccccccccccccccccccccccccccccccccccccccccccc
    ]
  } tail";
  tab = "\t${
    f (./a).bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb [
      1
      cccccccccccccccccccccccccccccccccccccccccccccccccc
    ]
  } tail";
  ideographicSpace = "　${
     f (./a).bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb [
       1
       cccccccccccccccccccccccccccccccccccccccccccccccccc
     ]
   } tail";
  selector =
    g
      x." ${
        f (./a).bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb [
          1
          cccccccccccccccccccccccccccccccccccccccccccccccccc
        ]
      }";
}
