// Bad input: every firmware field wrong at once, a TPM on a BIOS guest, and a typo.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        alice: { memory: "1G", disk: "4G", firmware: "efi", tpm: "yes", memoryBalloon: 1 },
        bob: { memory: "1G", disk: "4G", tpm: true },
        carol: { memory: "1G", disk: "4G", firmware: "bios", tpm: true, firmwre: "uefi" },
        dave: { memory: "1G", disk: "4G", firmware: "UEFI,readonly=on" },
      },
    },
  },
};
