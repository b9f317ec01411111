# vmflake runtime: binds a guest's PCI devices to vfio-pci, for its root oneshot unit vmflake-vfio-<guest>.service; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# Usage: $0 [--sysfs DIR] [--procfs DIR] [--devfs DIR] USER ADDRESS...
# Hands each PCI device ADDRESS (DDDD:BB:DD.F) to vfio-pci and gives its IOMMU group's node,
# /dev/vfio/<group>, to USER alone (mode 0600), so only that guest's QEMU can open it.
# It first checks every device and changes nothing when one is refused: no such device; no IOMMU
# group (the IOMMU is off); a PCI bridge; a device the host is using (a network interface that is
# up or a port of a bridge, a disk or partition that is mounted, used as swap or held by
# device-mapper/md); an IOMMU group shared with a device that is not listed and has a driver (VFIO
# hands over whole groups). Then, for each device not yet on vfio-pci: driver_override, unbind
# from its driver, drivers_probe, and wait until vfio-pci has it.
# --sysfs, --procfs and --devfs default to /sys, /proc and /dev; tests point them at a fake tree.
# Exit status: 0 bound, 1 refused or failed, 2 bad usage.
me=${0##*/}
usage() {
  echo "$me: $1" >&2
  echo "usage: $me [--sysfs DIR] [--procfs DIR] [--devfs DIR] USER ADDRESS..." >&2
  exit 2
}

sysfs=/sys
procfs=/proc
devfs=/dev
while [ "$#" -gt 0 ]; do
  case $1 in
    --sysfs | --procfs | --devfs)
      [ "$#" -ge 2 ] || usage "$1 needs a directory"
      case $1 in
        --sysfs) sysfs=$2 ;;
        --procfs) procfs=$2 ;;
        --devfs) devfs=$2 ;;
      esac
      shift 2
      ;;
    -*) usage "unknown option: $1" ;;
    *) break ;;
  esac
done
[ "$#" -ge 2 ] || usage "needs USER and at least one ADDRESS"
user=$1
shift

# User names: shadow's default rule; PCI addresses: domain, bus, device (0-1f) and function.
username='^[a-z_][a-z0-9_-]{0,31}$'
pciaddr='^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$'
[[ $user =~ $username ]] || usage "not a user name: $user"
for addr in "$@"; do
  [[ $addr =~ $pciaddr ]] || usage "not a PCI address (DDDD:BB:DD.F, lowercase): $addr"
done
listed=" $* "

# Seconds to wait for vfio-pci to take a device and for its group's node to appear.
bind_wait=10

problems=()
refuse() { problems+=("$1"); }

# The driver a device (a sysfs directory) is bound to, or "" for none.
driver_of() {
  if [ -L "$1/driver" ]; then
    basename "$(readlink "$1/driver")"
  fi
}

# The IOMMU group number of a device, or "" when it has none.
group_of() {
  if [ -L "$1/iommu_group" ]; then
    basename "$(readlink "$1/iommu_group")"
  fi
}

# Why the host is using the device whose real sysfs directory is $2 (PCI address $1): every
# network interface and block device below it (a USB controller's disks too) that is in use.
host_use() {
  local addr=$1 real=$2 entry path name flags mm holders
  for entry in "$sysfs"/class/net/*; do
    [ -e "$entry" ] || continue
    path=$(readlink -f "$entry")
    [[ $path == "$real"/* ]] || continue
    name=${entry##*/}
    flags=$(<"$entry/flags")
    if [ -e "$entry/master" ]; then
      refuse "$addr: the host's network interface $name is a port of $(basename "$(readlink "$entry/master")"); hand over a device the host does not use"
    elif ((flags & 0x1)); then
      refuse "$addr: the host's network interface $name is up; take it down (ip link set $name down) and out of the host's configuration first, or hand over another device"
    fi
  done
  for entry in "$sysfs"/class/block/*; do
    [ -e "$entry" ] || continue
    path=$(readlink -f "$entry")
    [[ $path == "$real"/* ]] || continue
    name=${entry##*/}
    mm=$(<"$entry/dev")
    if [ -n "${mounted[$mm]-}" ]; then
      refuse "$addr: the host's block device $name ($mm) is mounted; unmount it first, or hand over another device"
    fi
    if [ -n "${swapped[/dev/$name]-}" ]; then
      refuse "$addr: the host's block device $name is used as swap; swapoff /dev/$name first, or hand over another device"
    fi
    holders=("$entry"/holders/*)
    if [ -e "${holders[0]}" ]; then
      refuse "$addr: the host's block device $name is held by ${holders[*]##*/} (device-mapper, LVM, RAID or encryption); stop those first, or hand over another device"
    fi
  done
}

# What the host has mounted (mountinfo's third field is the device's major:minor) and swaps on.
declare -A mounted=() swapped=()
while read -r _ _ mm _; do mounted[$mm]=1; done <"$procfs/self/mountinfo"
while read -r name _; do swapped[$name]=1; done <"$procfs/swaps"

# 1. Check every device; change nothing yet.
pci=$sysfs/bus/pci/devices
[ -d "$sysfs/bus/pci/drivers/vfio-pci" ] ||
  refuse "the vfio-pci driver is not loaded (boot.kernelModules has it; was the host rebooted since?)"
for addr in "$@"; do
  dev=$pci/$addr
  if [ ! -e "$dev" ]; then
    refuse "$addr: no such PCI device on this host (lspci -D lists them)"
    continue
  fi
  class=$(<"$dev/class")
  if [[ $class == 0x06* ]]; then
    refuse "$addr: is a bridge (PCI class $class), which the host needs; hand over the devices behind it instead"
    continue
  fi
  [ "$(driver_of "$dev")" = vfio-pci ] || host_use "$addr" "$(readlink -f "$dev")"
  group=$(group_of "$dev")
  if [ -z "$group" ]; then
    refuse "$addr: has no IOMMU group, so the IOMMU is off: turn on VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup and boot with the IOMMU kernel parameters"
    continue
  fi
  for peer in "$sysfs/kernel/iommu_groups/$group/devices"/*; do
    [ -e "$peer" ] || continue
    other=${peer##*/}
    [[ $listed == *" $other "* ]] && continue
    drv=$(driver_of "$peer")
    case $drv in
      "" | vfio-pci | pcieport) ;;
      *) refuse "$addr: its IOMMU group $group also holds $other (driver $drv), which is not listed; VFIO hands a group over whole, so list $other too or use another slot" ;;
    esac
  done
done
if [ "${#problems[@]}" -gt 0 ]; then
  for problem in "${problems[@]}"; do echo "$me: $problem" >&2; done
  echo "$me: refused; no device was changed" >&2
  exit 1
fi

# Waits up to bind_wait seconds for the command to succeed.
wait_for() {
  local tries=$((bind_wait * 10))
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    sleep 0.1
  done
}
on_vfio() { [ "$(driver_of "$1")" = vfio-pci ]; }

# 2. Bind. driver_override makes vfio-pci the only driver the kernel may give the device.
for addr in "$@"; do
  dev=$pci/$addr
  drv=$(driver_of "$dev")
  if [ "$drv" != vfio-pci ]; then
    printf 'vfio-pci' >"$dev/driver_override"
    if [ -n "$drv" ]; then
      echo "$me: $addr: unbinding from $drv"
      printf '%s' "$addr" >"$dev/driver/unbind"
    fi
    printf '%s' "$addr" >"$sysfs/bus/pci/drivers_probe"
    wait_for on_vfio "$dev" || {
      echo "$me: $addr: vfio-pci did not take the device within ${bind_wait}s (see the kernel log)" >&2
      exit 1
    }
  fi
  echo "$me: $addr: on vfio-pci"
done

# 3. Give each group's node to the guest's user. udev may still be applying its rules to a node
# just made; it must not override the ownership afterwards (only on the real /sys: udev handles
# only real devices).
if [ "$sysfs" = /sys ]; then
  udevadm settle
fi
for addr in "$@"; do
  group=$(group_of "$pci/$addr")
  node=$devfs/vfio/$group
  wait_for test -c "$node" || {
    echo "$me: $addr: $node did not appear within ${bind_wait}s" >&2
    exit 1
  }
  chown "$user:" "$node"
  chmod 0600 "$node"
  echo "$me: $addr: $node is $user's"
done
