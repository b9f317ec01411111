# vmflake runtime: ExecCondition of a guest's unit, refuses firmware other than the image's and keeps its UEFI variables; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# The guest unit's ExecCondition. Usage: $0 --guest G --image PATH --record FILE --declared bios|uefi
#           [--uefi-vars FILE --uefi-vars-template FILE]
# Firmware is fixed at install: the partition table and boot loader on the image are BIOS's
# (MBR, GRUB) or UEFI's (GPT, an EFI system partition). The install writes the firmware it
# installed for into FILE (one word) before it publishes the image; an image without a record
# was installed before vmflake kept one, when every guest was BIOS. A guest declared with
# other firmware than its image's would not boot, so this refuses to start it and says what to
# do. A UEFI guest's variables file (its NVRAM) is never overwritten; if it is missing (removed
# by hand), it is made again from the template, without replacing anything.
me=${0##*/}
# The guest unit's ExecCondition: systemd skips a unit silently on a status of 1 to 254 and fails
# it on 255, so every refusal and every error (errexit included) ends with 255.
trap 'status=$?; if ((status != 0)); then exit 255; fi' EXIT
usage() {
  echo "$me: $1" >&2
  echo "usage: $me --guest G --image PATH --record FILE --declared bios|uefi" \
    "[--uefi-vars FILE --uefi-vars-template FILE]" >&2
  exit 2
}

guest='' image='' record='' declared='' vars='' template=''
while [ "$#" -gt 0 ]; do
  case $1 in
    --guest | --image | --record | --declared | --uefi-vars | --uefi-vars-template)
      if [ "$#" -lt 2 ]; then usage "$1 needs a value"; fi
      case $1 in
        --guest) guest=$2 ;;
        --image) image=$2 ;;
        --record) record=$2 ;;
        --declared) declared=$2 ;;
        --uefi-vars) vars=$2 ;;
        --uefi-vars-template) template=$2 ;;
      esac
      shift 2
      ;;
    *) usage "unknown argument: $1" ;;
  esac
done
[ -n "$guest" ] || usage "--guest is missing"
[[ $image == /* ]] || usage "--image: \"$image\" is not an absolute path"
[[ $record == /* ]] || usage "--record: \"$record\" is not an absolute path"
case $declared in
  bios) ;;
  uefi)
    [[ $vars == /* ]] || usage "--uefi-vars: \"$vars\" is not an absolute path"
    [ -n "$template" ] || usage "--uefi-vars-template is missing"
    ;;
  *) usage "--declared: \"$declared\" is neither bios nor uefi" ;;
esac

# No image yet: the install unit makes one (and its record), and the disk script says so.
if [ ! -e "$image" ]; then exit 0; fi

name() { if [ "$1" = uefi ]; then echo UEFI; else echo BIOS; fi; }

if [ -e "$record" ]; then
  installed=$(cat -- "$record") || {
    echo "$me: cannot read $record, the firmware guest $guest was installed for" >&2
    exit 1
  }
  case $installed in
    bios | uefi) ;;
    *)
      echo "$me: $record says \"$installed\"; it should say bios or uefi, the firmware" \
        "guest $guest was installed for. Put the right word back; nothing was started." >&2
      exit 1
      ;;
  esac
else
  installed=bios
fi

if [ "$installed" != "$declared" ]; then
  dir=${image%/*}
  {
    echo "$me: guest $guest was installed for $(name "$installed") firmware, but it is now" \
      "declared with firmware \"$declared\"; its disk's partition table and boot loader are" \
      "for $(name "$installed"), so it would not boot. Firmware is fixed at install."
    echo "$me: to keep the guest as it is, declare firmware \"$installed\" again. To reinstall" \
      "it with $(name "$declared") instead, stop it and move $image, $record and (for UEFI)" \
      "$dir/uefi-vars.fd out of $dir; its next start installs it afresh."
  } >&2
  exit 1
fi

if [ "$declared" = uefi ] && [ ! -e "$vars" ]; then
  # Made beside its final name and linked there: link(2) never replaces a file.
  tmp=$vars.new.$$
  if ! { cp -- "$template" "$tmp" && chmod 0600 -- "$tmp" && sync -- "$tmp"; }; then
    rm -f -- "$tmp"
    echo "$me: could not copy the UEFI variables template $template to $tmp" >&2
    exit 1
  fi
  # Another start that made it first wins; either copy is the template.
  if ! ln -T -- "$tmp" "$vars" && ! [ -e "$vars" ]; then
    rm -f -- "$tmp"
    echo "$me: could not create $vars" >&2
    exit 1
  fi
  rm -f -- "$tmp"
  echo "$me: guest $guest had no UEFI variables file; made $vars from the firmware's template" \
    "(its boot entries are rebuilt by the firmware; the disk's fallback loader boots it)"
fi
