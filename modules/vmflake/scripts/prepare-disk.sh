# vmflake runtime: grows a guest's disk image to the declared size (creates a missing data disk); copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# ExecStartPre of a QEMU guest unit (root disk) and ExecStart of its data disks' unit.
# Usage: [--create] <image-path> <declared-size-bytes>
# Makes the image's virtual size match the declared size, grow-only. It runs while QEMU is
# stopped, so qemu-img may write the image. It never shrinks an image (that cuts off the end of the
# guest's disk) and never replaces one. Without --create it never creates the image either (the
# root disk: the install unit creates it, atomically; an empty one would boot nothing). With
# --create (a data disk) a missing image is made empty, atomically: qemu-img writes a temporary
# name and a hard link publishes it, which fails rather than replace an image that appeared.
me=${0##*/}
create=false
if [ "${1:-}" = --create ]; then
  create=true
  shift
fi
# Byte counts have at most 18 digits: bash arithmetic is signed 64-bit, and 19 digits can
# overflow it (prepare-disk.sh, install-guest.sh and installer.sh use the same rule).
if [ "$#" -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]{0,17}$ ]]; then
  echo "usage: $me [--create] <image-path> <declared-size-bytes>" >&2
  exit 2
fi
img=$1
declared=$2
if ((declared % 512 != 0)); then
  echo "$me: declared size $declared is not a multiple of 512 bytes, which qemu-img requires" >&2
  exit 2
fi

# The temporary image of this run; removed on every exit unless published (then it is the
# image's second name, and removing it leaves the image).
tmp=
cleanup() { if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi; }
trap cleanup EXIT

if [ ! -e "$img" ] && $create; then
  # A fresh name (mktemp creates it exclusively): a leftover of a killed run may be the only
  # other name of an image and must never be written.
  if ! tmp=$(mktemp -- "$img.creating.XXXXXX"); then
    tmp=
    echo "$me: cannot create a temporary file next to $img; nothing was created" >&2
    exit 1
  fi
  if ! qemu-img create -q -f qcow2 -- "$tmp" "$declared" >&2; then
    echo "$me: qemu-img create of $tmp failed (see the message above); nothing was published" >&2
    exit 1
  fi
  if ! sync -- "$tmp"; then
    echo "$me: cannot sync $tmp; nothing was published" >&2
    exit 1
  fi
  # ln without -f never replaces: if an image appeared meanwhile, that one stays and is used.
  if ln -T -- "$tmp" "$img" 2>/dev/null; then
    sync -- "$(dirname -- "$img")" || echo "$me: warning: cannot sync the directory of $img" >&2
    echo "$me: created $img, empty, $declared bytes"
  elif [ ! -e "$img" ]; then
    echo "$me: cannot publish $tmp as $img; nothing was published" >&2
    exit 1
  fi
fi

if [ ! -e "$img" ]; then
  echo "$me: disk image $img does not exist; the guest's install unit creates it on first start," \
    "and this script never creates one (an empty disk would boot nothing)" >&2
  exit 1
fi

# One run per image at a time: two at once would each hold the image open for qemu-img check or
# info while the other's qemu-img resize needs it to itself, and both would fail. The lock is a
# flock on the image (QEMU's own image locks are fcntl locks, which do not meet it); a run waits
# for the one before it, up to five minutes.
if ! exec {lock}<"$img"; then
  echo "$me: cannot open $img to lock it (see the message above); the guest is not started" >&2
  exit 1
fi
if ! flock -w 300 "$lock"; then
  echo "$me: another run of $me has held $img for five minutes; the guest is not started" >&2
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
