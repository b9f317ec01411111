// Bad input: every kind of bad data disk, all reported at once.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        alice: {
          memory: "1G",
          disk: "4G",
          disks: {
            data: { size: "20G", mountPoint: "/srv" },
            again: { size: "1G", mountPoint: "/srv" },
            Bad_Name: { size: "1G" },
            "a-name-longer-than-twenty": { size: "1G" },
            root: { size: "1G", serial: "vmflake-root" },
            twin: { size: "1G", serial: "data" },
            long: { size: "1G", serial: "serial-of-21-chars-xx" },
            comma: { size: "1G", serial: "a,b" },
            tiny: { size: "512K" },
            huge: { size: "99999999999999999999T" },
            nosize: { mountPoint: "/nosize" },
            rootfs: { size: "1G", mountPoint: "/" },
            store: { size: "1G", mountPoint: "/nix/store" },
            nix: { size: "1G", mountPoint: "/nix" },
            relative: { size: "1G", mountPoint: "srv" },
            dots: { size: "1G", mountPoint: "/srv/../etc" },
            trailing: { size: "1G", mountPoint: "/srv/" },
            spaced: { size: "1G", mountPoint: "/srv/my data" },
            newline: { size: "1G", mountPoint: "/srv/a\nb" },
            fs: { size: "1G", mountPoint: "/fs", fsType: "ntfs" },
            unmounted: { size: "1G", fsType: "xfs" },
            typo: { size: "1G", mountpoint: "/typo" },
          },
        },
        bob: { memory: "1G", disk: "4G", disks: ["data"] },
      },
    },
  },
};
