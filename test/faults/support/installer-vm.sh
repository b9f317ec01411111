#!/bin/bash
# Stands in for the installer VM after install-guest's "--": it takes QEMU's install arguments as
# qemu.nix renders them, and does what the installer does to the host's files, with the real
# QEMU block layer (qemu-io) on the image-in-progress: reads the nonce from the seed directory,
# writes the "installed system" (1 MiB of 0x5a at offset 0, checked after publishing), then
# prints INSTALL_OK <nonce> on the console log and exits 0. Any failure to write is the
# installer's failure: no marker. Fault gates (as gate.sh): installer-started, installer-wrote,
# installer-ok.
set -u
seed='' disk='' log=''
for a in "$@"; do
  case $a in
    *driver=vvfat,*) seed=${a#*dir=}; seed=${seed%%,*} ;;
    *driver=file,node-name=disk0-file,*) disk=${a#*filename=}; disk=${disk%%,*} ;;
    file,id=serial0,path=*) log=${a#*path=}; log=${log%%,*} ;;
  esac
done
if [ -z "$seed" ] || [ -z "$disk" ] || [ -z "$log" ]; then
  echo "installer-vm: arguments not understood" >&2
  exit 1
fi
gate() {
  if [ -n "${VMFLAKE_FAULT_GATE-}" ] && [ "${VMFLAKE_FAULT_AT-}" = "$1" ]; then
    echo "$$" >"$VMFLAKE_FAULT_GATE/at.tmp" && mv "$VMFLAKE_FAULT_GATE/at.tmp" "$VMFLAKE_FAULT_GATE/at"
    while [ ! -e "$VMFLAKE_FAULT_GATE/go" ]; do sleep 0.05; done
  fi
}
nonce=$(sed -n 's/^nonce=//p' "$seed/vmflake-install.conf")
echo "installer-vm: booted" >>"$log" || exit 1
gate installer-started
/usr/bin/qemu-io -f qcow2 -c "write -P 0x5a 0 1M" -c flush "$disk" >/dev/null || exit 1
gate installer-wrote
printf 'INSTALL_OK %s\r\n' "$nonce" >>"$log" || exit 1
gate installer-ok
exit 0
