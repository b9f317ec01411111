// Bad input: guest settings with values Nix cannot hold (NaN, a NUL byte, a function).
export default {
  hosts: {
    h: {
      lan: { nic: "eth0", bridge: "br0" },
      stateVersion: "26.05",
      guests: {
        a: {
          memory: "1G",
          disk: "4G",
          config: { x: NaN, nested: { y: ["ok", "a\u0000b"] }, f: () => 1 },
        },
      },
    },
  },
};
