// Bad input: every kind of bad share, all reported at once; a mount point both a disk and a share claim.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        alice: {
          memory: "1G",
          disk: "4G",
          disks: { data: { size: "20G", mountPoint: "/srv" } },
          shares: {
            media: { source: "/srv/media", mountPoint: "/srv" },
            store: { source: "/nix/store/abc-source", mountPoint: "/store" },
            storeitself: { source: "/nix/store", mountPoint: "/store2" },
            relative: { source: "srv/media", mountPoint: "/rel" },
            comma: { source: "/srv/a,b", mountPoint: "/comma" },
            newline: { source: "/srv/a\nb", mountPoint: "/newline" },
            percent: { source: "/srv/100%", mountPoint: "/percent" },
            colon: { source: "/srv/a:b", mountPoint: "/colon" },
            interp: { source: "/srv/${x}", mountPoint: "/interp" },
            "bad.tag": { source: "/srv/tag", mountPoint: "/tag" },
            "a-tag-that-is-longer-than-thirty-six-chars": {
              source: "/srv/long",
              mountPoint: "/long",
            },
            nosource: { mountPoint: "/nosource" },
            nomount: { source: "/srv/nomount" },
            rootmount: { source: "/srv/x", mountPoint: "/" },
            proto: { source: "/srv/p", mountPoint: "/p", protocol: "nfs" },
            ro: { source: "/srv/ro", mountPoint: "/ro", readOnly: "yes" },
            typo: { source: "/srv/t", mountPoint: "/t", readonly: true },
          },
        },
        bob: { memory: "1G", disk: "4G", shares: "media" },
      },
    },
  },
};
