# vmflake runtime: the program of a guest's install unit, the first install into a new image; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# The first install of a QEMU guest (qemu-guest-<guest>-install.service). Usage:
#   $0 --host H --guest G --image PATH --disk-bytes N --disk-serial S --work DIR --log FILE
#      --timeout SECONDS --token T --iso PATH [--flake DIR]
#      [--firmware bios|uefi [--uefi-vars FILE --uefi-vars-template FILE]]
#      -- QEMU-PROGRAM QEMU-ARGS...
# It never overwrites an image: if PATH exists it does nothing. Otherwise it prepares the private
# work directory DIR next to the image (the image-in-progress, a link to the installer ISO and the
# seed drive's files: host, guest, a new nonce, the opt-in token, the disk's serial and size, and
# for a network install the flake), runs QEMU under the timeout, and publishes the image only if
# the installer printed exactly "INSTALL_OK <nonce>" on its serial console (appended to the log
# FILE) and qemu-img check passes. On any failure the image-in-progress goes, the log stays, and
# the exit status is 1 with a message naming the log.
# Firmware is fixed at install: before the image it publishes <image's directory>/firmware, the
# firmware (default bios) the image was installed for, which the guest's unit checks. A UEFI
# install boots with its own copy of the variables template (work/uefi-vars.fd); published as the
# guest's variables file FILE, unless one is there already (never overwritten).
me=${0##*/}
usage() {
  echo "$me: $1" >&2
  echo "usage: $me --host H --guest G --image PATH --disk-bytes N --disk-serial S" \
    "--work DIR --log FILE --timeout SECONDS --token T --iso PATH [--flake DIR]" \
    "[--firmware bios|uefi [--uefi-vars FILE --uefi-vars-template FILE]]" \
    "-- QEMU-PROGRAM QEMU-ARGS..." >&2
  exit 2
}

host='' guest='' image='' disk_bytes='' disk_serial='' work='' log='' timeout_s='' token=''
iso='' flake='' firmware=bios vars='' vars_template=''
while [ "$#" -gt 0 ]; do
  case $1 in
    --) shift; break ;;
    --host | --guest | --image | --disk-bytes | --disk-serial | --work | --log | --timeout | \
      --token | --iso | --flake | --firmware | --uefi-vars | --uefi-vars-template)
      if [ "$#" -lt 2 ]; then usage "$1 needs a value"; fi
      case $1 in
        --host) host=$2 ;;
        --guest) guest=$2 ;;
        --image) image=$2 ;;
        --disk-bytes) disk_bytes=$2 ;;
        --disk-serial) disk_serial=$2 ;;
        --work) work=$2 ;;
        --log) log=$2 ;;
        --timeout) timeout_s=$2 ;;
        --token) token=$2 ;;
        --iso) iso=$2 ;;
        --flake) flake=$2 ;;
        --firmware) firmware=$2 ;;
        --uefi-vars) vars=$2 ;;
        --uefi-vars-template) vars_template=$2 ;;
      esac
      shift 2
      ;;
    *) usage "unknown argument: $1" ;;
  esac
done

# Host and guest names: lib/names.ts' HOSTNAME, character for character (a test compares
# install-guest.sh, installer.sh and names.ts).
label='^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'
[[ $host =~ $label ]] || usage "--host: \"$host\" is not a host name"
[[ $guest =~ $label ]] || usage "--guest: \"$guest\" is not a guest name"
[[ $image == /*.qcow2 ]] || usage "--image: \"$image\" is not an absolute path to a .qcow2 file"
# Byte counts have at most 18 digits: bash arithmetic is signed 64-bit, and 19 digits can
# overflow it (prepare-disk.sh, install-guest.sh and installer.sh use the same rule).
if ! [[ $disk_bytes =~ ^[1-9][0-9]{0,17}$ ]] || ((disk_bytes % 512 != 0)); then
  usage "--disk-bytes: \"$disk_bytes\" is not a positive multiple of 512"
fi
[[ $disk_serial =~ ^[A-Za-z0-9._-]{1,20}$ ]] ||
  usage "--disk-serial: \"$disk_serial\" is not a serial"
# Publishing the image (link(2), then unlink) is atomic only within one file system.
[[ $work == /* && ${work%/*} == "${image%/*}" && $work != "$image" ]] ||
  usage "--work: \"$work\" must be another entry of the image's directory ${image%/*}"
[[ $log == /* ]] || usage "--log: \"$log\" is not an absolute path"
[[ $timeout_s =~ ^[1-9][0-9]{0,6}$ ]] || usage "--timeout: \"$timeout_s\" is not a count of seconds"
[[ $token =~ ^[[:graph:]]+$ ]] || usage "--token: missing or not one word"
[ -e "$iso" ] || usage "--iso: the installer ISO \"$iso\" does not exist"
[ -z "$flake" ] || [ -f "$flake/flake.nix" ] || usage "--flake: no flake.nix in \"$flake\""
case $firmware in
  bios) ;;
  uefi)
    [[ $vars == /* && ${vars%/*} == "${image%/*}" && $vars != "$image" && $vars != "$work" ]] ||
      usage "--uefi-vars: \"$vars\" must be another entry of the image's directory ${image%/*}"
    [ -f "$vars_template" ] ||
      usage "--uefi-vars-template: the UEFI variables template \"$vars_template\" does not exist"
    ;;
  *) usage "--firmware: \"$firmware\" is neither bios nor uefi" ;;
esac
[ "$#" -gt 0 ] || usage "no QEMU command after --"

if [ -e "$image" ] || [ -L "$image" ]; then
  echo "$me: $image exists, so guest $guest is installed;" \
    "nothing to do (an image is never overwritten)"
  exit 0
fi

dir=${image%/*}
[ -d "$dir" ] || mkdir -m 0750 -- "$dir"
# One install per guest at a time: a lock on the guest's directory (two guests never share one).
exec {lock}<"$dir"
if ! flock -n "$lock"; then
  echo "$me: another install of guest $guest is running (it holds the lock on $dir)" >&2
  exit 1
fi

# fail WORDS…: the reason (the words joined by spaces) goes to the log and the journal.
fail() {
  local reason="$*"
  # On a full file system the log may take nothing more; the journal still gets the reason.
  printf '=== vmflake: install of guest %s failed: %s ===\n' "$guest" "$reason" >>"$log" ||
    echo "$me: could not append to $log" >&2
  echo "$me: install of guest $guest failed: $reason" >&2
  echo "$me: the unfinished image was removed; the installer's console log is kept in $log" >&2
  exit 1
}

# The work directory holds only the image-in-progress and the seed: whatever happens, it goes.
# A published image is a name of its own, which this never touches.
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# 122 random bits from the kernel, as 32 hex digits; new for every attempt, so an old log or a
# stray line can never announce this attempt's success.
nonce=$(tr -d -- - </proc/sys/kernel/random/uuid)
[[ $nonce =~ ^[0-9a-f]{32}$ ]] || fail "could not make a nonce (got \"$nonce\")"
# Every step that writes is checked (a full file system, a killed qemu-img): the unit must fail
# naming the cause and the log, never end on a bare errexit.
# Left by an interrupted attempt (a power cut): never a published image.
rm -rf -- "$work" || fail "could not remove $work, left by an earlier attempt"
{
  mkdir -m 0700 -- "$work" &&
    mkdir -- "$work/seed" &&
    ln -s -- "$iso" "$work/installer.iso" &&
    printf '%s\n' "format=1" "host=$host" "guest=$guest" "nonce=$nonce" "token=$token" \
      "disk-serial=$disk_serial" "disk-bytes=$disk_bytes" >"$work/seed/vmflake-install.conf"
} || fail "could not prepare the work directory $work (see the message above)"
if [ "$firmware" = uefi ]; then
  { printf '%s\n' "firmware=uefi" >>"$work/seed/vmflake-install.conf" &&
    cp -- "$vars_template" "$work/uefi-vars.fd" && chmod 0600 -- "$work/uefi-vars.fd"; } ||
    fail "could not prepare the UEFI variables in $work (see the message above)"
fi
if [ -n "$flake" ]; then
  # The store's copy is read-only; the seed's must be removable afterwards.
  cp -RL --no-preserve=mode,ownership -- "$flake" "$work/seed/flake" ||
    fail "could not copy the flake into the seed $work/seed (see the message above)"
fi
create_status=0
qemu-img create -q -f qcow2 "$work/disk.qcow2" "$disk_bytes" || create_status=$?
if ((create_status != 0)); then
  fail "qemu-img create of the image-in-progress failed (status $create_status; see above)"
fi

started=$(date +%s)
printf '\n=== vmflake: install of guest %s started %s ===\n' "$guest" "$(date -u +%FT%TZ)" \
  >>"$log" || fail "could not append to the log $log (see the message above)"
offset=$(stat -c %s -- "$log") || fail "could not read the size of the log $log"
echo "$me: installing guest $guest (at most $timeout_s s; the installer's console goes to $log)"

status=0
timeout --kill-after=10 "$timeout_s" "$@" </dev/null || status=$?

# Only this attempt's part of the log counts; serial lines end in CR LF.
ok=false
reason=''
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%$'\r'}
  case $line in
    "INSTALL_OK $nonce") ok=true ;;
    "INSTALL_FAILED $nonce: "*) reason=${line#"INSTALL_FAILED $nonce: "} ;;
  esac
done < <(tail -c "+$((offset + 1))" -- "$log")

# timeout(1) exits 124, or 137 when it had to SIGKILL; 137 before the deadline is a kill from
# elsewhere (the OOM killer, an admin).
if ((status == 124 || (status == 137 && $(date +%s) - started >= timeout_s))); then
  fail "the installer did not finish within $timeout_s s, so QEMU was stopped"
elif ((status == 137)); then
  fail "QEMU was killed (SIGKILL) before the installer finished"
elif [ -n "$reason" ]; then
  fail "the installer reported: $reason"
elif [ "$ok" != true ]; then
  fail "the installer ended without reporting success (no line" \
    "\"INSTALL_OK <nonce of this attempt>\" in the log; QEMU's exit status was $status)"
elif ((status != 0)); then
  fail "QEMU's exit status was $status"
fi
if ! check=$(qemu-img check -f qcow2 "$work/disk.qcow2" 2>&1); then
  fail "qemu-img check found problems in the new image: $check"
fi

# Publish: the data reaches the disk first, then the name appears at once (link(2) refuses to
# replace an existing file), then the work directory and its second name go.
sync -- "$work/disk.qcow2" || fail "could not sync the new image to disk"
# The record first: an image is never published without one. No image has this name yet (checked
# under the lock), so a record left from an image moved away is replaced.
{ printf '%s\n' "$firmware" >"$work/firmware" && sync -- "$work/firmware" &&
  mv -fT -- "$work/firmware" "$dir/firmware"; } ||
  fail "could not record the firmware in $dir/firmware"
if [ "$firmware" = uefi ]; then
  if [ -e "$vars" ]; then
    echo "$me: keeping the UEFI variables file $vars that is already there (never overwritten)"
  elif ! { sync -- "$work/uefi-vars.fd" && ln -T -- "$work/uefi-vars.fd" "$vars"; }; then
    [ "$vars" -ef "$work/uefi-vars.fd" ] || fail "could not publish the UEFI variables as $vars"
  fi
fi
if ! ln -T -- "$work/disk.qcow2" "$image"; then
  # An ln killed after its link(2) fails too: then the name is this attempt's own file.
  [ "$image" -ef "$work/disk.qcow2" ] || fail "could not publish the image as $image"
fi
# Published: from here on nothing may report the install as failed (the unit would run again
# and find the image, or an admin would remove a good one). A failed sync is a warning.
sync -- "$dir" || echo "$me: warning: could not sync $dir after publishing $image" >&2
printf '=== vmflake: install of guest %s succeeded ===\n' "$guest" >>"$log" ||
  echo "$me: warning: could not append to $log" >&2
echo "$me: installed guest $guest in $(($(date +%s) - started)) s: $image"
