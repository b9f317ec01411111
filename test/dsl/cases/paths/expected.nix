[
  ./modules/host.nix
  ../sibling
  /etc/hosts
  /.
  ./a-b+c_d.e
  (./. + "/with space")
  (./. + "/trailing/")
  (./. + "/relative/no-dot")
  (/. + "/abs/with space")
  (./. + "/a\${b}")
  (import (./. + "/with space.nix"))
  (./set.nix).value
]
