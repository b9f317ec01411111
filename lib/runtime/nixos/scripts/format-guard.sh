# vmflake runtime: in a guest, lets systemd-makefs format a data disk only while it is blank; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# ExecStartPre of systemd-makefs@<disk>.service. Usage: <device>
# systemd-makefs formats a device on which blkid finds no file system, and it looks for file
# systems only: a disk holding a partition table (or anything else wipefs knows) but no file
# system would be formatted over. This refuses that case; the mount then fails, and nothing on
# the disk is touched. A disk with a file system passes (systemd-makefs then leaves it alone).
me=${0##*/}
if [ "$#" -ne 1 ]; then
  echo "usage: $me <device>" >&2
  exit 2
fi
dev=$1

# -p: probe the device itself, not the cache. Exit status 2 is "nothing found".
status=0
fs=$(blkid -p -o value -s TYPE -- "$dev") || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  echo "$me: blkid cannot probe $dev (status $status); not formatting it" >&2
  exit 1
fi
if [ -n "$fs" ]; then
  exit 0
fi

if ! signatures=$(wipefs --no-act --noheadings --output TYPE -- "$dev"); then
  echo "$me: wipefs cannot read $dev; not formatting it" >&2
  exit 1
fi
if [ -n "$signatures" ]; then
  echo "$me: refusing to format $dev: it holds no file system but is not blank" \
    "(found: $(echo "$signatures" | tr '\n' ' '));" \
    "its mount fails instead. Put a file system on it yourself, or wipe it (wipefs -a $dev)" \
    "if its content is not needed" >&2
  exit 1
fi
