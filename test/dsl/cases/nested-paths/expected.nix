{
  services.openssh.enable = true;
  services.openssh.settings = {
    PasswordAuthentication = false;
  };
  boot.loader.grub.devices = [ "/dev/sda" ];
  a.b.c.d.e =
    someValueThatIsLongEnoughToMakeTheLineWrapAroundTheLimitOfOneHundredColumnsWhenPrintedInTheFile;
  systemd.services.qemu-guest-alice.serviceConfig = {
    User = "vm-alice";
  };
  x86_64-linux.default = pkg;
  short =
    someValueThatIsLongEnoughToMakeTheLineWrapAroundTheLimitOfOneHundredColumnsWhenPrintedInTheFile;
}
