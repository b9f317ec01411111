// Bad input: a guest whose unit would be another guest's data disks' unit.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        db: { memory: "1G", disk: "4G", disks: { data: { size: "10G" } } },
        "db-disks": { memory: "1G", disk: "4G" },
      },
    },
  },
};
