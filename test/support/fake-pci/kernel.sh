#!/usr/bin/env bash
# A STAND-IN for the kernel's PCI driver core, for the tests of the runtime's vfio-bind script,
# which run against a fake /sys (test/support/fake-pci/tree.ts) because no test machine has an
# IOMMU or a device to spare. Usage: kernel.sh ROOT, with ROOT/sys and ROOT/dev.
# It serves ROOT/sys/bus/pci/drivers_probe, a FIFO, as the kernel serves the real file: for each
# address written there, a device whose driver_override is vfio-pci goes to vfio-pci (if that
# driver is loaded), and its IOMMU group's node ROOT/dev/vfio/<group> appears, root's, mode 0600,
# as devtmpfs makes it. A device still bound to a driver stays with it unless that driver's
# unbind file got its address first, as the kernel probes only unbound devices. Each address
# probed is appended to ROOT/probed.
set -euo pipefail
root=$1
sys=$root/sys
while true; do
  addr=""
  read -r addr <"$sys/bus/pci/drivers_probe" || true
  [ -n "$addr" ] || continue
  echo "$addr" >>"$root/probed"
  dev=$sys/bus/pci/devices/$addr
  [ -e "$dev" ] || continue
  if [ -L "$dev/driver" ]; then
    unbind=$(readlink -f "$dev/driver")/unbind
    grep -qxF "$addr" <(cat "$unbind"; echo) || continue
    rm "$dev/driver"
  fi
  [ "$(cat "$dev/driver_override")" = vfio-pci ] || continue
  [ -d "$sys/bus/pci/drivers/vfio-pci" ] || continue
  ln -s ../../../bus/pci/drivers/vfio-pci "$dev/driver"
  group=$(basename "$(readlink "$dev/iommu_group")")
  mkdir -p "$root/dev/vfio"
  [ -e "$root/dev/vfio/$group" ] || mknod -m 0600 "$root/dev/vfio/$group" c 1 3
done
