// Bad input: PCI and USB passthrough, every kind of mistake at once (short and malformed
// addresses, hostile strings, duplicates in one guest and across guests, bad USB IDs, a port
// without a bus, 0000 which QEMU reads as any device), and a bad IOMMU choice.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      iommu: "arm",
      guests: {
        alice: {
          memory: "1G",
          disk: "4G",
          pci: [
            "0000:01:00.0",
            "01:00.0",
            "0000:01:20.0",
            "0000:01:00.8",
            "0000:01:00.0,x-msix-relocation=bar",
            "0000:01:00.0",
            42,
          ],
          usb: [
            { vendor: "046d", product: "c52b" },
            { vendor: "0x046d", product: "C52B" },
            { vendor: "046", product: "c52b${x}" },
            { vendor: "0000", product: "0000" },
            { vendor: "1050", product: "0407", port: "1.4" },
            { vendor: "1050", product: "0407", bus: 300, port: "1..4" },
            { product: 0xc52b, serial: "x" },
          ],
        },
        bob: {
          memory: "1G",
          disk: "4G",
          pci: ["0000:01:00.0"],
          usb: [{ vendor: "046D", product: "c52b", bus: 1 }],
        },
        carol: { memory: "1G", disk: "4G", pci: "0000:02:00.0", usb: {} },
        // More devices than a guest takes.
        erin: {
          memory: "1G",
          disk: "4G",
          pci: Array.from({ length: 17 }, (_, i) => `0000:03:${i.toString(16).padStart(2, "0")}.0`),
          usb: Array.from({ length: 16 }, (_, i) => ({ vendor: "abcd", product: `${1000 + i}` })),
        },
      },
    },
    lab: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      // Another machine: the same address there is another device.
      guests: { dave: { memory: "1G", disk: "4G", pci: ["0000:01:00.0"] } },
    },
  },
};
