# vmflake runtime: the systemd sandbox of the runtime's helper units (data disks, virtiofsd, swtpm), which need no devices and no network; copied verbatim into the generated flake's modules/vmflake/.
#
# Tighter than the guests' own sandbox in default.nix: no /dev/kvm or taps, only Unix sockets.
# Each unit adds the paths it may write (StateDirectory=, BindPaths=).
{
  DevicePolicy = "closed";
  PrivateDevices = true;
  PrivateNetwork = true;
  NoNewPrivileges = true;
  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  RestrictSUIDSGID = true;
  RestrictRealtime = true;
  RestrictNamespaces = true;
  LockPersonality = true;
  MemoryDenyWriteExecute = true;
  SystemCallArchitectures = "native";
  RestrictAddressFamilies = [ "AF_UNIX" ];
  CapabilityBoundingSet = "";
}
