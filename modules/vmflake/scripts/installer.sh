# vmflake runtime: the install service of the installer ISO; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# The install service of vmflake's installer ISO. Usage: $0 --host H --token T
# It acts only when a seed drive is attached: a virtio disk with serial vmflake-seed
# whose FAT file system holds vmflake-install.conf with host H and the opt-in token T.
# Without one it does nothing at all, so booting this ISO on a real machine never touches a
# disk. With one, it installs the guest the seed names on the disk with the serial and exact
# size the seed names, and only if that disk is blank: no partition, no signature wipefs or
# blkid knows, zeros in its first and last MiB. Then it prints exactly "INSTALL_OK <nonce>"
# (or "INSTALL_FAILED <nonce>: <reason>") on the serial console, which the host logs and
# checks, and powers off.
me=${0##*/}
sysfs=/sys
serial_console=/dev/ttyS0
seed_mount=/run/vmflake-seed
target=/mnt
offline_dir=/etc/vmflake/offline
# Host and guest names: lib/names.ts' HOSTNAME, character for character (a test compares
# install-guest.sh, installer.sh and names.ts).
label='^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'
mib=1048576

say() { echo "$me: $*"; }

host='' token=''
while [ "$#" -gt 0 ]; do
  case $1 in
    --host | --token)
      if [ "$#" -lt 2 ]; then
        echo "$me: $1 needs a value" >&2
        exit 2
      fi
      if [ "$1" = --host ]; then host=$2; else token=$2; fi
      shift 2
      ;;
    *)
      echo "usage: $me --host H --token T" >&2
      exit 2
      ;;
  esac
done
if ! [[ $host =~ $label ]] || [ -z "$token" ]; then
  echo "usage: $me --host H --token T" >&2
  exit 2
fi

# disks_with_serial SERIAL: the whole disks (vda …) whose virtio serial is SERIAL.
disks_with_serial() {
  local d
  for d in "$sysfs"/block/*; do
    if [ -r "$d/serial" ] && [ "$(cat "$d/serial")" = "$1" ]; then echo "${d##*/}"; fi
  done
}

# wait_for_block DEVICE: up to 10 s for the kernel to create it.
wait_for_block() {
  local _
  for _ in $(seq 100); do
    if [ -b "$1" ]; then return 0; fi
    sleep 0.1
  done
  [ -b "$1" ]
}

# --- Is there a seed drive for this installer? If not, nothing happens. ---
udevadm settle --timeout=30 || true
mapfile -t seeds < <(disks_with_serial vmflake-seed)
if [ "${#seeds[@]}" -ne 1 ]; then
  say "${#seeds[@]} disks with serial vmflake-seed (a seed drive) found; nothing to do"
  exit 0
fi
seed_dev=/dev/${seeds[0]}1
if ! wait_for_block "$seed_dev"; then
  say "the seed drive has no partition $seed_dev; nothing to do"
  exit 0
fi
mkdir -p "$seed_mount"
if ! mount -t vfat -o ro,nosuid,nodev,noexec "$seed_dev" "$seed_mount"; then
  say "cannot mount the seed drive $seed_dev; nothing to do"
  exit 0
fi
declare -A seed=()
if [ -f "$seed_mount/vmflake-install.conf" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    if [[ $line =~ ^([a-z-]+)=(.*)$ ]]; then seed[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}; fi
  done <"$seed_mount/vmflake-install.conf"
fi
nonce=${seed[nonce]-}
if [ "${seed[token]-}" != "$token" ] || ! [[ $nonce =~ ^[0-9a-f]{32}$ ]]; then
  say "the seed drive carries no opt-in token for this installer (host $host); nothing to do"
  umount "$seed_mount" || true
  exit 0
fi

# --- From here on the host asked for an install: every outcome is reported, then power off. ---
reported=false
# report LINE: the line the host looks for, alone on a line of the serial console, with kernel
# messages kept off the console so that none can land in the middle of it.
report() {
  dmesg -n 1 || true
  printf '\n%s\n' "$1" >"$serial_console"
  reported=true
}
release() {
  umount -R "$target" 2>/dev/null || true
  umount "$seed_mount" 2>/dev/null || true
  sync
}
# fail WORDS…: report the reason (the words joined by spaces) and power off.
fail() {
  local reason="$*"
  reason=${reason//$'\n'/ }
  echo "$me: install failed: $reason" >&2
  report "INSTALL_FAILED $nonce: $reason"
  release
  systemctl poweroff || true
  exit 1
}
on_exit() {
  local status=$?
  if [ "$reported" != true ]; then
    report "INSTALL_FAILED $nonce: unexpected error (exit status $status); see the messages above"
    release
    systemctl poweroff || true
  fi
}
trap on_exit EXIT

[ "${seed[format]-}" = 1 ] || fail "the seed's format \"${seed[format]-}\" is not 1"
[ "${seed[host]-}" = "$host" ] ||
  fail "the seed is for host \"${seed[host]-}\" but this installer is host $host's"
guest=${seed[guest]-}
[[ $guest =~ $label ]] || fail "the seed's guest name \"$guest\" is not a valid name"
serial=${seed["disk-serial"]-}
[[ $serial =~ ^[A-Za-z0-9._-]{1,20}$ && $serial != vmflake-seed ]] ||
  fail "the seed's disk serial \"$serial\" is not usable"
bytes=${seed["disk-bytes"]-}
# Byte counts have at most 18 digits: bash arithmetic is signed 64-bit, and 19 digits can
# overflow it (prepare-disk.sh, install-guest.sh and installer.sh use the same rule).
[[ $bytes =~ ^[1-9][0-9]{0,17}$ ]] || fail "the seed's disk size \"$bytes\" is not a byte count"
# The guest's firmware: BIOS (the default, and every seed before the field) or UEFI.
firmware=${seed[firmware]-bios}
[[ $firmware == bios || $firmware == uefi ]] ||
  fail "the seed's firmware \"$firmware\" is neither bios nor uefi"

# --- Which system: carried in this ISO (offline), or the seed's flake (network)? ---
if [ -e "$offline_dir/$guest" ]; then
  method=offline
  system=$(readlink -f "$offline_dir/$guest")
elif [ -f "$seed_mount/flake/flake.nix" ] &&
  [ -f "$seed_mount/flake/modules/$host/$guest.nix" ]; then
  method=flake
else
  fail "this installer does not know guest $guest:" \
    "it carries no system for it and the seed has no flake declaring it"
fi

# --- The target: only the disk with that serial, of exactly that size, and blank. ---
mapfile -t disks < <(disks_with_serial "$serial")
if [ "${#disks[@]}" -eq 0 ]; then fail "no disk has the serial $serial"; fi
if [ "${#disks[@]}" -gt 1 ]; then
  fail "${#disks[@]} disks have the serial $serial (${disks[*]}); refusing to choose"
fi
disk=${disks[0]}
dev=/dev/$disk
wait_for_block "$dev" || fail "$dev (serial $serial) is not a block device"
size=$(($(cat "$sysfs/block/$disk/size") * 512))
((size == bytes)) ||
  fail "the disk with serial $serial ($dev) has $size bytes, not the $bytes the host declared;" \
    "refusing it"
[ "$(cat "$sysfs/block/$disk/ro")" = 0 ] || fail "the disk with serial $serial ($dev) is read-only"
for part in "$sysfs/block/$disk/$disk"*; do
  if [ -e "$part" ]; then
    fail "$dev is not blank: it has the partition ${part##*/}; refusing it"
  fi
done
signatures=$(wipefs --no-act --noheadings --output TYPE,OFFSET "$dev") ||
  fail "wipefs cannot read $dev"
[ -z "$signatures" ] || fail "$dev is not blank: wipefs finds ${signatures//$'\n'/, }; refusing it"
found=0
probe=$(blkid -p -o export "$dev" 2>&1) || found=$?
case $found in
  2) ;; # nothing found
  0) fail "$dev is not blank: blkid finds ${probe//$'\n'/ }; refusing it" ;;
  *) fail "blkid cannot probe $dev: $probe" ;;
esac
for at in 0 $((size / mib - 1)); do
  nonzero=$(dd if="$dev" bs=$mib skip="$at" count=1 2>/dev/null | tr -d '\000' | wc -c)
  ((nonzero == 0)) ||
    fail "$dev is not blank: MiB $at of it holds $nonzero non-zero bytes; refusing it"
done

# --- Partition, format, install. ---
if [ "$method" = offline ]; then from=$system; else from="the seed's flake"; fi
say "installing guest $guest on $dev (serial $serial, $size bytes, $firmware) from $from"
if [ "$firmware" = uefi ]; then
  # GPT: a 512 MiB EFI system partition (label ESP, /boot), then the root, last so that it grows.
  root=${dev}2
  printf '%s\n' 'label: gpt' \
    'start=2048, size=1048576, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=ESP' \
    'type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=nixos' |
    sfdisk --quiet --wipe always "$dev" || fail "sfdisk could not partition $dev"
else
  root=${dev}1
  printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet --wipe always "$dev" ||
    fail "sfdisk could not partition $dev"
fi
udevadm settle --timeout=30 || true
wait_for_block "$root" || fail "the new partition $root did not appear"
mkfs.ext4 -q -F -L nixos "$root" || fail "mkfs.ext4 failed on $root"
mkdir -p "$target"
mount "$root" "$target" || fail "cannot mount $root on $target"
if [ "$firmware" = uefi ]; then
  mkfs.vfat -F 32 -n ESP "${dev}1" >/dev/null || fail "mkfs.vfat failed on ${dev}1"
  mkdir -p "$target/boot"
  mount -o umask=0077 "${dev}1" "$target/boot" || fail "cannot mount ${dev}1 on $target/boot"
fi
if [ "$method" = offline ]; then
  nixos-install --root "$target" --system "$system" --no-root-passwd --no-channel-copy ||
    fail "nixos-install --system $system failed; see the messages above"
else
  systemctl start network-online.target || say "network-online.target failed; trying anyway"
  flake=$(mktemp -d)
  # nixos-install may write the flake's lock file; the seed drive is read-only.
  cp -R "$seed_mount/flake/." "$flake"
  nixos-install --root "$target" --flake "path:$flake#$guest" --no-root-passwd --no-channel-copy ||
    fail "nixos-install --flake ...#$guest failed; see the messages above"
fi
umount -R "$target" || fail "cannot unmount $target"
umount "$seed_mount" || true
sync
say "installed guest $guest"
report "INSTALL_OK $nonce"
systemctl poweroff || true
