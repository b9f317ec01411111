# vmflake runtime: the host's tap of one guest, for its oneshot unit vmflake-tap-<tap>.service; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# The tap of one guest on the host. Usage:
#   $0 up TAP USER MAC BRIDGE [multi-queue]
#   $0 down TAP
#   $0 attach BRIDGE TAP...
# The unit is a oneshot with RemainAfterExit, so a host rebuild never recreates the tap under a
# running guest: QEMU holds the tap's file descriptor, and a new tap of that name would be a
# different device, cut off from the guest.
# up: creates TAP (mode tap, owned by USER, vnet_hdr for vhost-net) unless it exists. An existing
# TAP is reused as it is, never deleted or recreated; but one that is not a tap, or is not USER's,
# is refused (exit 1). With multi-queue, TAP is made multi-queue (a guest with several CPUs opens
# a queue per CPU); an existing TAP of the other kind is made anew only while nothing holds it
# (no queue attached: no carrier), else refused. Then it gives TAP the MAC, makes it a port of BRIDGE if BRIDGE exists (if
# not, the bridge's unit attaches it when it creates the bridge) and brings it up.
# down: deletes TAP if it exists (and refuses to delete an interface that is not a tap).
# attach: makes each TAP that exists a port of BRIDGE; run by the bridge's unit after it made the
# bridge (again), since a bridge made anew has no ports but the NIC.
# Exit status: 0 done, 1 refused or failed, 2 bad usage.
me=${0##*/}
usage() {
  if [ -n "${1-}" ]; then echo "$me: $1" >&2; fi
  echo "usage: $me up TAP USER MAC BRIDGE [multi-queue]" >&2
  echo "       $me down TAP" >&2
  echo "       $me attach BRIDGE TAP..." >&2
  exit 2
}

# Interface names: lib/names.ts' IFNAME (at most 15 characters, as the kernel allows; no leading
# "-" or "." that ip would read as an option or a path).
ifname='^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$'
# User names: shadow's default rule, at most 32 characters.
username='^[a-z_][a-z0-9_-]{0,31}$'
# MACs as lib/mac.ts writes them.
macaddr='^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'
# IFF_TAP, the bit of tun_flags that makes a tun device a tap; IFF_MULTI_QUEUE, a multi-queue one.
iff_tap=0x0002
iff_multi_queue=0x0100

[ "$#" -gt 0 ] || usage "no command"
verb=$1
shift
case $verb in
  up)
    [ "$#" -eq 4 ] || [ "$#" -eq 5 ] || usage "up needs TAP USER MAC BRIDGE [multi-queue]"
    [ "$#" -eq 4 ] || [ "$5" = multi-queue ] || usage "up: \"$5\" is not multi-queue"
    ;;
  down) [ "$#" -eq 1 ] || usage "down needs TAP" ;;
  attach) [ "$#" -ge 1 ] || usage "attach needs BRIDGE" ;;
  *) usage "unknown command: $verb" ;;
esac
net=/sys/class/net

fail() {
  echo "$me: $*" >&2
  exit 1
}

# ip ARGS…: ip's own exit status may be 2, which here means bad usage; any failure of ip is 1.
ip_or_fail() {
  ip "$@" || fail "ip $* failed (see the message above)"
}

# Every tun and tap device has tun_flags, and no other interface has.
is_tap() {
  local flags
  [ -r "$net/$1/tun_flags" ] || return 1
  flags=$(cat "$net/$1/tun_flags")
  [[ $flags =~ ^0x[0-9a-fA-F]+$ ]] && ((flags & iff_tap))
}

# True when the tap's tun_flags have IFF_MULTI_QUEUE.
is_multi_queue() {
  local flags
  flags=$(cat "$net/$1/tun_flags")
  ((flags & iff_multi_queue))
}

# True when a process holds a queue of the tap: the kernel turns the carrier on while one is
# attached (reading carrier fails on an interface that is down, which nothing holds either).
is_held() {
  [ "$(cat "$net/$1/carrier" 2>/dev/null)" = 1 ]
}

# attach_port TAP BRIDGE: make TAP a port of BRIDGE unless it is one already.
attach_port() {
  local master=''
  [ -d "$net/$2/bridge" ] || fail "$2 exists but is not a bridge; refusing to add $1 to it"
  if [ -e "$net/$1/master" ]; then master=$(basename -- "$(readlink -- "$net/$1/master")"); fi
  if [ "$master" != "$2" ]; then
    ip_or_fail link set dev "$1" master "$2"
    echo "$me: $1 is a port of bridge $2"
  fi
}

if [ "$verb" = attach ]; then
  bridge=$1
  shift
  [[ $bridge =~ $ifname ]] || usage "BRIDGE: \"$bridge\" is not an interface name"
  for tap in "$@"; do
    [[ $tap =~ $ifname ]] || usage "TAP: \"$tap\" is not an interface name"
  done
  [ -e "$net/$bridge" ] || fail "bridge $bridge does not exist"
  [ -d "$net/$bridge/bridge" ] || fail "$bridge exists but is not a bridge; refusing to add taps to it"
  for tap in "$@"; do
    # A guest whose tap's unit has not run (or was stopped) has no tap to attach.
    if [ -e "$net/$tap" ] && is_tap "$tap"; then attach_port "$tap" "$bridge"; fi
  done
  exit 0
fi

tap=$1
[[ $tap =~ $ifname ]] || usage "TAP: \"$tap\" is not an interface name"

if [ "$verb" = down ]; then
  if [ ! -e "$net/$tap" ]; then
    echo "$me: $tap does not exist; nothing to delete"
    exit 0
  fi
  is_tap "$tap" || fail "$tap is not a tap; refusing to delete it"
  ip_or_fail link del dev "$tap"
  echo "$me: deleted tap $tap"
  exit 0
fi

user=$2
mac=$3
bridge=$4
[[ $user =~ $username ]] || usage "USER: \"$user\" is not a user name"
[[ $mac =~ $macaddr ]] || usage "MAC: \"$mac\" is not a MAC such as fe:54:00:12:34:56"
((16#${mac:0:2} % 2 == 0)) || usage "MAC: $mac is a multicast address; a tap needs a unicast one"
[[ $bridge =~ $ifname ]] || usage "BRIDGE: \"$bridge\" is not an interface name"
uid=$(id -u -- "$user" 2>/dev/null) || fail "there is no user $user to own $tap"
multi=()
kind=single-queue
if [ "$#" -eq 5 ]; then
  multi=(multi_queue)
  kind="multi-queue"
fi

# A tap of the wrong kind that nothing holds is only a name: it is made anew. One a process holds
# (a running QEMU) is never taken from it.
if [ -e "$net/$tap" ] && is_tap "$tap"; then
  was=single-queue
  if is_multi_queue "$tap"; then was="multi-queue"; fi
  if [ "$was" != "$kind" ]; then
    is_held "$tap" &&
      fail "tap $tap is $was and in use, but its guest now needs a $kind tap; stop the guest," \
        "then start this unit again"
    ip_or_fail link del dev "$tap"
    echo "$me: deleted the unused $was tap $tap to make it $kind"
  fi
fi

if [ ! -e "$net/$tap" ]; then
  ip_or_fail tuntap add dev "$tap" mode tap user "$user" vnet_hdr "${multi[@]}"
  echo "$me: created tap $tap for user $user${multi:+ (multi-queue)}"
else
  # Never recreate it: a running QEMU may hold it. But a stranger's device is not the guest's tap.
  is_tap "$tap" ||
    fail "$tap exists but is not a tap (it has no tap flags in $net/$tap/tun_flags); refusing" \
      "to use it. Rename or delete that interface, then start this unit again"
  owner=$(cat "$net/$tap/owner")
  if [ "$owner" != "$uid" ]; then
    # -1: no owner, so only a process with CAP_NET_ADMIN may open it.
    if [ "$owner" = -1 ]; then owner="no owner"; else owner="owner uid $owner"; fi
    fail "tap $tap exists with $owner, not $user (uid $uid), so the guest's QEMU could not open" \
      "it; refusing to take it over. Delete it (ip link del $tap) once nothing uses it, then" \
      "start this unit again"
  fi
  echo "$me: reusing the existing tap $tap of user $user"
fi

# Only on a change: setting the same address still notifies the bridge, which may pick its own
# address anew.
if [ "$(cat "$net/$tap/address")" != "$mac" ]; then
  ip_or_fail link set dev "$tap" address "$mac"
fi

if [ -e "$net/$bridge" ]; then
  attach_port "$tap" "$bridge"
else
  echo "$me: bridge $bridge does not exist yet; its unit attaches $tap when it creates it"
fi

ip_or_fail link set dev "$tap" up
echo "$me: tap $tap is up (MAC $mac)"
