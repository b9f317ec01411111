// Bad input: a duplicate MAC is reported in the same run as another problem of the same guest.
export default {
  hosts: {
    h1: {
      lan: { nic: "eth0", bridge: "br0" },
      stateVersion: "26.05",
      guests: {
        a: { memory: "1G", disk: "4G", mac: "52:54:00:00:00:07" },
        broken: { memory: "1gb", disk: "4G", tap: "tap9" },
      },
    },
    h2: {
      lan: { nic: "eth0", bridge: "br0" },
      stateVersion: "26.05",
      guests: { b: { memory: "1gb", disk: "4G", mac: "52:54:00:00:00:07", tap: "tap9" } },
    },
  },
};
