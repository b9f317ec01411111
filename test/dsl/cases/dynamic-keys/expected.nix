{
  ${name} = 1;
  "qemu-guest-${name}" = 2;
  systemd.services."qemu-guest-${name}".enable = true;
  ${toString port} = 3;
  select = cfg.${name}."${name}-extra";
  has = cfg ? ${name};
}
