/**
 * The description the passthrough tests build (stand-in and real NixOS tiers): a guest with two
 * PCI functions and two USB devices (one by IDs in upper case, one on a fixed port behind a hub)
 * next to a guest with none.
 */
import type { HostsSpec } from "../../lib/index.ts";

export const PASSTHROUGH_SPEC = {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        alice: { memory: "1G", disk: "40G" },
        build: {
          memory: "8G",
          disk: "80G",
          cpus: 8,
          pci: ["0000:01:00.0", "0000:01:00.1"],
          usb: [
            { vendor: "046D", product: "c52b" },
            { vendor: "1050", product: "0407", bus: 3, port: "1.4" },
          ],
        },
      },
    },
  },
} as const satisfies HostsSpec;

/** The QEMU arguments the runtime makes of the guest build's devices. */
export const PASSTHROUGH_ARGS = [
  "-device",
  "vfio-pci,host=0000:01:00.0",
  "-device",
  "vfio-pci,host=0000:01:00.1",
  "-device",
  "qemu-xhci,id=vmflake-xhci,p2=15,p3=15",
  "-device",
  "usb-host,bus=vmflake-xhci.0,vendorid=0x046d,productid=0xc52b",
  "-device",
  "usb-host,bus=vmflake-xhci.0,vendorid=0x1050,productid=0x0407,hostbus=3,hostport=1.4",
];

/** DeviceAllow= of the guest build's unit: the runtime's sandbox, then what its devices need. */
export const PASSTHROUGH_DEVICE_ALLOW = [
  "/dev/kvm rw",
  "/dev/net/tun rw",
  "/dev/vhost-net rw",
  "char-usb_device rw",
  "/dev/vfio/vfio rw",
  "char-vfio rw",
];
