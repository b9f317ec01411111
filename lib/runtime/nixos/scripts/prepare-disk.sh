# vmflake runtime: ExecStartPre of a guest's unit, grows its disk image to the declared size; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# ExecStartPre of a QEMU guest unit. Usage: <image-path> <declared-size-bytes>
# Makes the image's virtual size match the declared size, grow-only. It runs while
# QEMU is stopped, so qemu-img may write the image. It never creates the image (the install unit
# does, atomically) and never shrinks it (that cuts off the end of the guest's disk).
me=${0##*/}
# Byte counts have at most 18 digits: bash arithmetic is signed 64-bit, and 19 digits can
# overflow it (prepare-disk.sh, install-guest.sh and installer.sh use the same rule).
if [ "$#" -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]{0,17}$ ]]; then
  echo "usage: $me <image-path> <declared-size-bytes>" >&2
  exit 2
fi
img=$1
declared=$2
if ((declared % 512 != 0)); then
  echo "$me: declared size $declared is not a multiple of 512 bytes, which qemu-img requires" >&2
  exit 2
fi

if [ ! -e "$img" ]; then
  echo "$me: disk image $img does not exist; the guest's install unit creates it on first start," \
    "and this script never creates one (an empty disk would boot nothing)" >&2
  exit 1
fi

# A damaged image (truncated, a broken header or tables) must not boot: QEMU would go on writing
# into it. qemu-img check only reads (no -r: this never repairs; a repair is the admin's call,
# on a copy). Its status: 0 clean, 3 only leaked clusters (space lost by a QEMU killed while it
# wrote; harmless), 2 corrupted, 1 not checkable (not qcow2, unreadable, locked by a running QEMU).
check_status=0
qemu-img check -q -f qcow2 "$img" >&2 || check_status=$?
case $check_status in
  0) ;;
  3) echo "$me: $img has leaked clusters (unused space, no damage); starting anyway" >&2 ;;
  2)
    echo "$me: refusing to start: qemu-img check found corruption in $img (see above)." \
      "The image is left exactly as it is; to inspect it: qemu-img check -f qcow2 $img" \
      "(repair only a copy, with -r, once the guest's data is saved)" >&2
    exit 1
    ;;
  *)
    echo "$me: refusing to start: qemu-img check cannot check $img (status $check_status," \
      "see the message above); the image is left exactly as it is" >&2
    exit 1
    ;;
esac

# -f qcow2: never probe the format; --output=json gives the exact byte count.
if ! current=$(qemu-img info -f qcow2 --output=json "$img" | jq -er '."virtual-size"') ||
  ! [[ $current =~ ^[0-9]+$ ]]; then
  echo "$me: cannot read the virtual size of $img (see the message above)" >&2
  exit 1
fi

human() { numfmt --to=iec-i --suffix=B "$1"; }

if ((declared == current)); then
  echo "$me: $img already has the declared size $(human "$current")"
elif ((declared > current)); then
  if ! qemu-img resize -f qcow2 "$img" "$declared" >/dev/null; then
    echo "$me: qemu-img resize of $img to $declared bytes failed (see the message above);" \
      "the guest is not started, and its next start tries again" >&2
    exit 1
  fi
  echo "$me: grew $img from $(human "$current") ($current bytes) to $(human "$declared") ($declared bytes)"
else
  echo "$me: refusing to shrink $img: it is $current bytes ($(human "$current")) but the declared size is" \
    "$declared bytes ($(human "$declared")); shrinking would cut off the end of the guest's disk." \
    "Either declare at least $current bytes again, or shrink the file systems and partitions inside" \
    "the guest first, then stop the guest and run:" \
    "qemu-img resize -f qcow2 --shrink $img $declared" >&2
  exit 1
fi
